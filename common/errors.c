/* The one table that maps PP_E* codes to names, exit codes, HTTP statuses and
 * wire statuses. Adding a code means adding one row here. */
#include "errors.h"

#include <stddef.h>

struct err_row {
	int err;
	const char *name;
	const char *text;
	int exit_code;
	int http_status;
};

static const struct err_row err_table[] = {
	{PP_OK, "ok", "ok", 0, 200},
	{PP_EINVAL, "invalid", "invalid argument", 1, 400},
	{PP_ENOTFOUND, "not_found", "not found", 2, 404},
	{PP_EUNAVAIL, "unavailable", "cluster unavailable or not enough live workers", 3, 503},
	{PP_EINTEGRITY, "integrity", "integrity error (hash mismatch)", 4, 502},
	{PP_EAUTH, "auth_refused", "authentication refused", 5, 403},
	{PP_ECONFLICT, "conflict", "conflict", 1, 409},
	{PP_ENOSPACE, "no_space", "no space left on the workers", 3, 507},
	{PP_EINTERNAL, "internal", "internal error", 3, 500},
	{PP_ETOOLARGE, "too_large", "too large", 1, 413},
	{PP_ENOTPRIMARY, "not_primary", "this tracker is a standby; writes go to the primary", 3,
	 503},
};

static const struct err_row *err_row_of(int err)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err == err)
			return &err_table[i];
	return &err_table[8]; /* PP_EINTERNAL */
}

const char *pp_err_name(int err) { return err_row_of(err)->name; }
const char *pp_strerror(int err) { return err_row_of(err)->text; }
int pp_exit_code(int err) { return err_row_of(err)->exit_code; }
int pp_http_status(int err) { return err_row_of(err)->http_status; }

int pp_err_from_status(int status)
{
	if (status <= 0 || status > -PP_E_LAST)
		return status == 0 ? PP_OK : PP_EINTERNAL;
	return -status;
}

int pp_status_from_err(int err)
{
	if (err >= 0)
		return 0;
	if (err < PP_E_LAST)
		return -PP_EINTERNAL;
	return -err;
}
