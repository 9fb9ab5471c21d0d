/* Static files of the web UI; see webui.h. Embedded files are served from
 * read-only memory (MHD_RESPMEM_PERSISTENT, never copied); --web-root files
 * are streamed from their fd. */
#define _GNU_SOURCE
#include "webui.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEBUI_NAME_MAX 128

struct webui {
	char *root; /* owned; NULL = embedded */
};

bool webui_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > WEBUI_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

const char *webui_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".webmanifest", "application/manifest+json"},
		{".txt", "text/plain; charset=utf-8"},
		{".woff2", "font/woff2"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

int webui_new(const char *root, struct webui **out)
{
	struct webui *ui = calloc(1, sizeof(*ui));
	if (ui == NULL)
		return PP_EINTERNAL;
	if (root != NULL) {
		struct stat st;
		if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
			log_error("web_root_unusable", "dir=%s err=%s", log_q(root),
				  log_q(strerror(errno ? errno : ENOTDIR)));
			free(ui);
			return PP_EINVAL;
		}
		ui->root = strdup(root);
		if (ui->root == NULL) {
			free(ui);
			return PP_EINTERNAL;
		}
	}
	*out = ui;
	return PP_OK;
}

void webui_free(struct webui *ui)
{
	if (ui == NULL)
		return;
	free(ui->root);
	free(ui);
}

static enum MHD_Result serve_embedded(struct request *r, struct MHD_Connection *c, const char *name)
{
	for (size_t i = 0; i < webui_asset_count; i++) {
		if (strcmp(webui_assets[i].name, name) != 0)
			continue;
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			webui_assets[i].size, (void *)webui_assets[i].data, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, webui_content_type(name));
		/* Files change with the binary: revalidate HTML, cache the rest briefly. */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					strstr(name, ".html") ? "no-cache" : "public, max-age=300");
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		r->bytes_out += webui_assets[i].size;
		return reply_response(r, c, MHD_HTTP_OK, resp);
	}
	return reply_error(r, c, MHD_HTTP_NOT_FOUND, "not_found", "no such page: %s", name);
}

static enum MHD_Result serve_dir(struct webui *ui, struct request *r, struct MHD_Connection *c,
				 const char *name)
{
	int dfd = open(ui->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		close(dfd);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return reply_error(r, c, MHD_HTTP_NOT_FOUND, "not_found", "no such page: %s", name);
	}
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (resp == NULL) {
		close(fd);
		return reply_error(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "cannot serve %s",
				   name);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, webui_content_type(name));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	r->bytes_out += (uint64_t)st.st_size;
	return reply_response(r, c, MHD_HTTP_OK, resp);
}

enum MHD_Result webui_serve(struct webui *ui, struct request *r, struct MHD_Connection *c)
{
	const char *path = r->path;
	const char *name = path[0] == '/' ? path + 1 : path;
	if (*name == '\0')
		name = "index.html";
	if (!webui_name_ok(name))
		return reply_error(r, c, MHD_HTTP_NOT_FOUND, "not_found", "no such page");
	return ui->root ? serve_dir(ui, r, c, name) : serve_embedded(r, c, name);
}
