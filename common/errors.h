/* Error codes shared by every part of Peer Pressure.
 *
 * Functions that can fail return 0 or a negative PP_E* code. The codes mirror
 * the wire's pp.v1.Status values (PP_EX == -STATUS_X), so one table here maps
 * them to wire statuses, ppctl exit codes (DESIGN.md, "Binaries") and HTTP
 * statuses (DESIGN.md, "REST API"). */
#ifndef PP_COMMON_ERRORS_H
#define PP_COMMON_ERRORS_H

/* ppclient.h defines the same values as macros for library users. */
#ifndef PPCLIENT_H
enum {
	PP_OK = 0,
	PP_EINVAL = -1,     /* bad argument: name, range, id, flag */
	PP_ENOTFOUND = -2,
	PP_EUNAVAIL = -3,   /* cluster unavailable, not enough live workers */
	PP_EINTEGRITY = -4, /* hash mismatch */
	PP_EAUTH = -5,      /* refused by authentication */
	PP_ECONFLICT = -6,
	PP_ENOSPACE = -7,
	PP_EINTERNAL = -8,
	PP_ETOOLARGE = -9,
	PP_ENOTPRIMARY = -10, /* a standby tracker: writes go to the primary */
};
#endif
/* The lowest (most negative) code the wire carries. */
#define PP_E_LAST PP_ENOTPRIMARY

/* Short lowercase name of a code ("not_found"), used in logs and JSON. */
const char *pp_err_name(int err);
/* Human sentence for a code ("not found"). */
const char *pp_strerror(int err);
/* ppctl exit code: 0 ok, 1 usage, 2 not found, 3 unavailable, 4 integrity, 5 auth. */
int pp_exit_code(int err);
/* HTTP status for the gateway's error responses. */
int pp_http_status(int err);
/* Wire status (pp.v1.Status numeric value) <-> code. */
int pp_err_from_status(int status);
int pp_status_from_err(int err);

#endif
