#!/usr/bin/env bash
# deploy/monitoring checked offline: the alert rules load (promtool check
# rules) and behave (promtool test rules alerts.test.yml), the host scrape
# config is valid (promtool check config), the Kubernetes one names the
# jobs the rules use, and the Grafana dashboard is valid JSON whose panels
# all have a datasource and a query.
# With a second argument, a file of metric names the services really
# export (one a line, as tests/integration/test_metrics.sh collects them),
# every metric the rules and the dashboard query must be among them.
# Usage: check-monitoring.sh MONITORING_DIR [EXPORTED_NAMES_FILE]
set -euo pipefail
dir=${1:?usage: check-monitoring.sh MONITORING_DIR [EXPORTED_NAMES_FILE]}
names=${2:-}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v promtool >/dev/null || fail "promtool not found (apt-get install prometheus; scripts/install-deps.sh does)"
command -v jq >/dev/null || fail "jq not found"

promtool check rules "$dir/alerts.yml" >/dev/null || fail "promtool check rules alerts.yml"
(cd "$dir" && promtool test rules alerts.test.yml) || fail "promtool test rules alerts.test.yml"
promtool check config "$dir/prometheus.yml" >/dev/null || fail "promtool check config prometheus.yml"
# Debian's promtool is built without Kubernetes discovery, so the pod
# config is checked for what the rules rely on: every job label they use.
for job in pp-tracker pp-worker pp-gateway; do
	grep -q "job_name: $job\$" "$dir/prometheus.yml" || fail "prometheus.yml has no job $job"
done
grep -q 'kubernetes_sd_configs' "$dir/prometheus-kubernetes.yml" || fail "prometheus-kubernetes.yml discovers no pods"
grep -q '__meta_kubernetes_pod_label_app_kubernetes_io_name' "$dir/prometheus-kubernetes.yml" ||
	fail "prometheus-kubernetes.yml does not take the job from app.kubernetes.io/name"

dash=$dir/grafana-dashboard.json
jq empty "$dash" 2>/dev/null || fail "grafana-dashboard.json is not valid JSON"
jq -e '.title and .uid and (.panels | length > 0)' "$dash" >/dev/null || fail "dashboard without title, uid or panels"
dups=$(jq -r '[.panels[].id] | group_by(.) | map(select(length > 1) | .[0]) | .[]' "$dash")
[ -z "$dups" ] || fail "dashboard panel ids used twice: $dups"
bad=$(jq -r '.panels[] | select(.type != "row") |
	select((.datasource == null) or ((.targets // []) | length == 0) or any(.targets[]; (.expr // "") == "")) | .title' "$dash")
[ -z "$bad" ] || fail "dashboard panels without a datasource or query: $bad"

# Metric names the rules and the dashboard query.
queried() {
	{
		jq -r '.. | .expr? // empty' "$dash"
		grep -E '^\s+expr:|^\s{10}\S' "$dir/alerts.yml" | grep -v '^\s*#' || true
	} | grep -oE '\b(pp|process)_[a-z0-9_]+' | sort -u
}
n=$(queried | wc -l)
[ "$n" -gt 20 ] || fail "only $n metric names found in the rules and the dashboard"
if [ -n "$names" ]; then
	missing=$(queried | grep -vxF -f "$names" || true)
	[ -z "$missing" ] || fail "the rules or the dashboard query metrics no service exports: $(echo $missing)"
	echo "every one of $n metric names queried by deploy/monitoring is exported"
fi
echo "deploy/monitoring: rules, rule tests, scrape configs and dashboard OK"
