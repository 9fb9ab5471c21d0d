"""Seeded fault-injection harness for Peer Pressure (DESIGN.md, "Fault injection").

Modules: cluster (the processes under test), history (what each name may hold),
workload (client threads driving ppctl), nemesis (the fault schedule),
checker (the final verdict). tests/chaos/run wires them together.
"""
