/* Balance (DESIGN.md, "Balance"): a new or much emptier worker receives
 * chunks from the fullest one, a few transfers at a time and only while no
 * repair is pending, until usage (used / capacity) of every placeable
 * worker is within --balance-spread. A move copies first and deletes from
 * the source only after the copy is durable. */
#ifndef PP_TRACKER_BALANCE_H
#define PP_TRACKER_BALANCE_H

#include "tracker.h"

struct balance;

int balance_start(struct tracker *t, struct balance **out);
/* Two-phase stop (see common/bgloop.h). */
void balance_stop(struct balance *b);
void balance_free(struct balance *b);

#endif
