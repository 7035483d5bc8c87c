/* SPDX-License-Identifier: MIT */
/*
 * api_load: the compiled half of bench/api, an HTTP client that loads
 * ektpd's control API from many threads at once.
 *
 *   api_load SOCKET PID SECONDS CLIENTS RECORDS RPS_SECONDS [RSS_LIMIT]
 *   api_load serve SOCKET BYTES
 *
 * The first form drives the ektpd with process id PID on SOCKET, a daemon
 * started on an empty state directory with simulated devices:
 *
 *  1. Accounts: the first admin (as root, while no admin exists), then an
 *     operator "op" and a supervisor "sup", each logged in.
 *  2. RECORDS residents enrolled with uploaded synthetic images (the
 *     simulators' own generators), so that a print batch has cards to make.
 *  3. Requests per second of GET /v1/status from CLIENTS clients for
 *     RPS_SECONDS, then the same clients for as long against "api_load
 *     serve": a bare libsoup server on a Unix socket answering a fixed JSON
 *     body of the size of ektpd's status answer, which is what the HTTP stack
 *     alone can do on this machine.
 *  4. A print batch of the RECORDS cards is started; while it prints,
 *     CLIENTS clients loop for SECONDS over a weighted mix: status, record
 *     lists, a record looked up by NIK, one record by id, the print jobs, and
 *     whole enrollments (open, 14 uploads, commit).  Every answer's status and
 *     shape is checked against what that request must return.  The daemon's
 *     VmRSS is read every second.
 *  5. Afterwards: every enrollment committed is among the records, no session
 *     is left open, and the batch printed throughout.  The batch is then
 *     cancelled so that the daemon stops quickly.
 *
 * Exit 0 when every answer was the expected one, no request went without an
 * answer, the batch printed throughout and the daemon's memory stayed flat
 * (the mean RSS of the last 10 s at most RSS_LIMIT, default 1.10, times that
 * of the 10 s after a 10 s warm-up); 1 otherwise; 2 for a setup failure.
 */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/sim/synth.h"
#include "image/image.h"

#define PIN "123456"
/* A request that takes longer than this is lost. */
#define REQUEST_TIMEOUT_S 30
/*
 * Memory is flat when the mean RSS of the last 10 s of the load is at most
 * 10 % above that of the 10 s after a 10 s warm-up.  The warm-up is left out
 * because the daemon starts it idle and its RSS climbs by a third as the
 * clients' uploads fill GLib's worker threads and their malloc arenas; once
 * that is done, the RSS swings by about 10 % from one second to the next with
 * the number of images in flight, which 10 s means smooth out.  What is left
 * to grow is what the load leaves behind: at some 8 enrollments a second, a
 * leak of 4 KiB per enrollment (a single decoded image row) passes the limit
 * within the minute.
 */
#define RSS_LIMIT 1.10
/* The warm-up and the RSS windows: 10 s each, or a third of a shorter run. */
#define WINDOW_MAX_S 10
#define MAX_ERRORS_SHOWN 8

/* ---- request kinds and their tallies ---- */

typedef enum {
	K_STATUS,
	K_LIST,
	K_QUERY,
	K_RECORD,
	K_JOBS,
	K_OPEN,
	K_UPLOAD,
	K_COMMIT,
	K_COUNT
} Kind;

static const char *const kind_names[K_COUNT] = {
	[K_STATUS] = "GET status",	    [K_LIST] = "GET records",
	[K_QUERY] = "GET records?nik",  [K_RECORD] = "GET records/ID",
	[K_JOBS] = "GET print/jobs",    [K_OPEN] = "POST enrollments",
	[K_UPLOAD] = "PUT capture PNG", [K_COMMIT] = "POST commit",
};

/* One client's tallies; merged once the clients have stopped. */
typedef struct {
	GArray *lat[K_COUNT]; /* guint32 microseconds per answered request */
	guint64 sent, answered, errors, lost;
	guint64 enrolled;
} Tally;

/* Counters every client bumps, for the progress lines. */
static gint g_sent, g_answered, g_errors, g_lost, g_enrolled;
static gint g_stop;

static GMutex err_lock;
static GPtrArray *err_shown; /* the first few unexpected answers, as text */

static void
note_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void
note_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_mutex_lock(&err_lock);
	if (err_shown->len < MAX_ERRORS_SHOWN)
		g_ptr_array_add(err_shown, text);
	else
		g_free(text);
	g_mutex_unlock(&err_lock);
}

static void
tally_init(Tally *t)
{
	memset(t, 0, sizeof *t);
	for (int k = 0; k < K_COUNT; k++)
		t->lat[k] = g_array_new(FALSE, FALSE, sizeof(guint32));
}

static void
tally_clear(Tally *t)
{
	for (int k = 0; k < K_COUNT; k++)
		g_array_unref(t->lat[k]);
}

/* ---- HTTP over the Unix socket ---- */

/* A session of its own per thread: libsoup sessions are not shared. */
static SoupSession *
session_new(const char *socket_path)
{
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
	return soup_session_new_with_options("remote-connectable", addr, "timeout",
					     REQUEST_TIMEOUT_S, "idle-timeout", 0, NULL);
}

typedef struct {
	guint status;    /* 0: no answer (the request is lost) */
	char *body;      /* NUL-terminated; NULL without an answer */
	gsize len;
	guint32 usec;    /* from send to the whole answer */
	char *transport; /* why there is no answer */
} Answer;

static void
answer_clear(Answer *a)
{
	g_free(a->body);
	g_free(a->transport);
	memset(a, 0, sizeof *a);
}

/* One request; TOKEN, TYPE and BODY may be NULL.  Fills OUT (caller clears). */
static void
call(SoupSession *s, const char *method, const char *path, const char *token, const char *type,
     GBytes *body, Answer *out)
{
	memset(out, 0, sizeof *out);
	g_autofree char *uri = g_strconcat("http://localhost", path, NULL);
	g_autoptr(SoupMessage) msg = soup_message_new(method, uri);
	if (!msg) {
		out->transport = g_strdup_printf("bad URI %s", uri);
		return;
	}
	SoupMessageHeaders *h = soup_message_get_request_headers(msg);
	if (token) {
		g_autofree char *bearer = g_strconcat("Bearer ", token, NULL);
		soup_message_headers_replace(h, "Authorization", bearer);
	}
	if (body)
		soup_message_set_request_body_from_bytes(msg, type, body);
	GError *e = NULL;
	gint64 t0 = g_get_monotonic_time();
	GBytes *got = soup_session_send_and_read(s, msg, NULL, &e);
	out->usec = (guint32)MIN(g_get_monotonic_time() - t0, (gint64)G_MAXUINT32);
	if (!got) {
		out->transport = g_strdup(e->message);
		g_error_free(e);
		return;
	}
	out->status = soup_message_get_status(msg);
	gsize n = 0;
	const char *p = g_bytes_get_data(got, &n);
	out->body = g_strndup(p ? p : "", n);
	out->len = n;
	g_bytes_unref(got);
}

static GBytes *
json_bytes(const char *text)
{
	return g_bytes_new(text, strlen(text));
}

/* The answer's JSON object, or NULL (caller unrefs the node). */
static JsonNode *
parse_object(const Answer *a)
{
	if (!a->body)
		return NULL;
	JsonNode *n = json_from_string(a->body, NULL);
	if (n && !JSON_NODE_HOLDS_OBJECT(n)) {
		json_node_unref(n);
		return NULL;
	}
	return n;
}

static const char *
obj_string(JsonNode *n, const char *member)
{
	JsonObject *o = json_node_get_object(n);
	JsonNode *m = json_object_get_member(o, member);
	return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_STRING
		       ? json_node_get_string(m)
		       : NULL;
}

static gint64
obj_int(JsonNode *n, const char *member, gint64 def)
{
	JsonObject *o = json_node_get_object(n);
	JsonNode *m = json_object_get_member(o, member);
	return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_INT64
		       ? json_node_get_int(m)
		       : def;
}

/*
 * Tallies one request of KIND: lost without an answer, an error answer
 * unless its status is WANT.  Returns TRUE for the expected status.
 */
static gboolean
tally(Tally *t, Kind kind, const char *what, const Answer *a, guint want)
{
	t->sent++;
	g_atomic_int_inc(&g_sent);
	if (a->status == 0) {
		t->lost++;
		g_atomic_int_inc(&g_lost);
		note_error("%s: no answer: %s", what, a->transport ? a->transport : "?");
		return FALSE;
	}
	t->answered++;
	g_atomic_int_inc(&g_answered);
	g_array_append_val(t->lat[kind], a->usec);
	if (a->status != want) {
		t->errors++;
		g_atomic_int_inc(&g_errors);
		note_error("%s: %u (want %u): %.300s", what, a->status, want, a->body);
		return FALSE;
	}
	return TRUE;
}

/* An answer with the right status but the wrong content: an error answer too. */
static void
tally_wrong(Tally *t, const char *what, const Answer *a, const char *why)
{
	t->errors++;
	g_atomic_int_inc(&g_errors);
	note_error("%s: %s: %.300s", what, why, a->body);
}

/* ---- the residents ---- */

/* The images every enrollment uploads, as PNG files in memory. */
typedef struct {
	const char *modality;
	int position;
	GBytes *png;
} Upload;

#define N_UPLOADS 14
static Upload uploads[N_UPLOADS];
static GBytes *face_red, *face_blue; /* the backdrop follows the birth year's parity */

static GBytes *
png_of(HalImage *h)
{
	Image img = { h->width, h->height, h->channels, h->ppi, h->pixels };
	GError *e = NULL;
	GBytes *png = image_png_encode(&img, &e);
	g_free(h->pixels);
	if (!png) {
		fprintf(stderr, "api_load: PNG encoding: %s\n", e->message);
		exit(2);
	}
	return png;
}

static void
make_images(void)
{
	HalImage h;
	int n = 0;
	for (int p = 1; p <= 10; p++, n++) {
		memset(&h, 0, sizeof h);
		if (synth_fingerprint(900 + (guint32)p, p, 0.92, &h, NULL) < 0)
			exit(2);
		uploads[n] = (Upload){ "finger", p, png_of(&h) };
	}
	for (int eye = 1; eye <= 2; eye++, n++) {
		memset(&h, 0, sizeof h);
		if (synth_iris(910 + (guint32)eye, eye, 0.92, &h, NULL) < 0)
			exit(2);
		uploads[n] = (Upload){ "iris", eye, png_of(&h) };
	}
	memset(&h, 0, sizeof h);
	if (synth_face(920, 0xdb1514, 0.92, &h) < 0)
		exit(2);
	face_red = png_of(&h);
	memset(&h, 0, sizeof h);
	if (synth_face(920, 0x0090ff, 0.92, &h) < 0)
		exit(2);
	face_blue = png_of(&h);
	uploads[n++] = (Upload){ "face", 0, NULL };
	memset(&h, 0, sizeof h);
	if (synth_signature(930, &h) < 0)
		exit(2);
	uploads[n++] = (Upload){ "signature", 0, png_of(&h) };
	g_assert(n == N_UPLOADS);
}

/*
 * Resident number I: a man of Kecamatan Singkawang Barat (617201) born in
 * 1970..1999 whose NIK agrees with his birth date, so that no record needs
 * a supervisor.  I is a mixed-radix number of (day, month, year, serial),
 * which makes every NIK unique.
 */
typedef struct {
	char nik[17];
	int year;
	char *json;
} Resident;

static void
resident(guint i, Resident *r)
{
	int day = 1 + (int)(i % 28), month = 1 + (int)(i / 28 % 12);
	int year = 1970 + (int)(i / 336 % 30), serial = 1 + (int)(i / 10080 % 9999);
	g_snprintf(r->nik, sizeof r->nik, "617201%02d%02d%02d%04d", day, month, year % 100,
		   serial);
	r->year = year;
	char name[16] = "";
	int len = 0;
	guint v = i;
	do {
		name[len++] = (char)('A' + v % 26);
		v /= 26;
	} while (v && len < 8);
	name[len] = '\0';
	r->json = g_strdup_printf(
		"{\"nik\":\"%s\",\"kk\":\"6172010101100001\",\"name\":\"WARGA UJI %s\","
		"\"birth_place\":\"SINGKAWANG\",\"birth_date\":\"%04d-%02d-%02d\","
		"\"gender\":\"LAKI-LAKI\",\"blood_type\":\"O\",\"religion\":\"ISLAM\","
		"\"marital_status\":\"KAWIN\",\"occupation\":\"WIRASWASTA\","
		"\"address\":\"JL. MERDEKA NO. %u\",\"rt\":\"001\",\"rw\":\"002\","
		"\"village_code\":\"61.72.01.1001\",\"citizenship\":\"WNI\"}",
		r->nik, name, year, month, day, i % 500 + 1);
}

/* The records the readers look at: ids and NIKs, growing as enrollments commit. */
typedef struct {
	gint64 id;
	char nik[17];
} Known;

static GMutex known_lock;
static GArray *known; /* Known */
static gint next_resident;

static void
known_add(gint64 id, const char *nik)
{
	Known k = { .id = id };
	g_strlcpy(k.nik, nik, sizeof k.nik);
	g_mutex_lock(&known_lock);
	g_array_append_val(known, k);
	g_mutex_unlock(&known_lock);
}

static Known
known_pick(GRand *rng)
{
	g_mutex_lock(&known_lock);
	Known k = g_array_index(known, Known, g_rand_int_range(rng, 0, (gint32)known->len));
	g_mutex_unlock(&known_lock);
	return k;
}

/*
 * One whole enrollment as TOKEN: open, 14 uploads, commit.  Returns the
 * record's id, or 0 after tallying what went wrong.  Stops at the first
 * failure and abandons the session then, so that nothing stays open.
 */
static gint64
enroll_one(SoupSession *s, Tally *t, const char *token, guint i)
{
	Resident r;
	resident(i, &r);
	Answer a;
	g_autoptr(GBytes) body = json_bytes(r.json);
	call(s, "POST", "/v1/enrollments", token, "application/json", body, &a);
	gint64 id = 0, record = 0;
	if (tally(t, K_OPEN, "POST /v1/enrollments", &a, 201)) {
		JsonNode *n = parse_object(&a);
		id = n ? obj_int(n, "id", 0) : 0;
		if (!n || id <= 0 || g_strcmp0(obj_string(n, "state"), "open") != 0)
			tally_wrong(t, "POST /v1/enrollments", &a, "no open session in the answer");
		if (n)
			json_node_unref(n);
	}
	answer_clear(&a);
	gboolean ok = id > 0;
	for (int u = 0; ok && u < N_UPLOADS; u++) {
		GBytes *png = uploads[u].png ? uploads[u].png : r.year % 2 ? face_red : face_blue;
		g_autofree char *path = g_strdup_printf("/v1/enrollments/%" G_GINT64_FORMAT
							"/capture/%s?position=%d",
							id, uploads[u].modality, uploads[u].position);
		call(s, "PUT", path, token, "image/png", png, &a);
		ok = tally(t, K_UPLOAD, "PUT capture", &a, 200);
		if (ok) {
			JsonNode *n = parse_object(&a);
			if (!n || g_strcmp0(obj_string(n, "status"), "accepted") != 0) {
				tally_wrong(t, path, &a, "capture not accepted");
				ok = FALSE;
			}
			if (n)
				json_node_unref(n);
		}
		answer_clear(&a);
	}
	if (ok) {
		g_autofree char *path =
			g_strdup_printf("/v1/enrollments/%" G_GINT64_FORMAT "/commit", id);
		call(s, "POST", path, token, NULL, NULL, &a);
		if (tally(t, K_COMMIT, "POST commit", &a, 201)) {
			JsonNode *n = parse_object(&a);
			if (n && obj_int(n, "record_id", 0) == id &&
			    g_strcmp0(obj_string(n, "state"), "print_ready") == 0)
				record = id;
			else
				tally_wrong(t, path, &a, "not a print_ready record");
			if (n)
				json_node_unref(n);
		}
		answer_clear(&a);
	} else if (id > 0) {
		g_autofree char *path =
			g_strdup_printf("/v1/enrollments/%" G_GINT64_FORMAT "/abandon", id);
		call(s, "POST", path, token, NULL, NULL, &a);
		answer_clear(&a);
	}
	if (record) {
		known_add(record, r.nik);
		t->enrolled++;
		g_atomic_int_inc(&g_enrolled);
	}
	g_free(r.json);
	return record;
}

/* ---- the clients ---- */

typedef enum { MODE_STATUS, MODE_MIX } Mode;

typedef struct {
	const char *socket_path;
	Mode mode;
	const char *token;
	guint32 seed;
	Tally tally;
	GThread *thread;
} Client;

/* The number of records the lists must at least show (the prepared ones). */
static guint min_records;

/* One read of the mix; each answer's content is checked, not only its status. */
static void
read_one(SoupSession *s, Client *c, GRand *rng, Kind kind)
{
	Tally *t = &c->tally;
	Answer a;
	Known k = known_pick(rng);
	g_autofree char *path = NULL;
	switch (kind) {
	case K_LIST:
		path = g_strdup_printf("/v1/records?limit=50&after=%d",
				       g_rand_int_range(rng, 0, (gint32)min_records / 2 + 1));
		break;
	case K_QUERY:
		path = g_strdup_printf("/v1/records?nik=%s", k.nik);
		break;
	case K_RECORD:
		path = g_strdup_printf("/v1/records/%" G_GINT64_FORMAT, k.id);
		break;
	case K_JOBS:
		path = g_strdup("/v1/print/jobs");
		break;
	default:
		path = g_strdup("/v1/status");
		break;
	}
	call(s, "GET", path, kind == K_STATUS ? NULL : c->token, NULL, NULL, &a);
	if (tally(t, kind, path, &a, 200)) {
		JsonNode *n = parse_object(&a);
		JsonObject *o = n ? json_node_get_object(n) : NULL;
		const char *why = NULL;
		JsonArray *arr;
		if (!o)
			why = "not a JSON object";
		else if (kind == K_STATUS)
			why = obj_string(n, "version") ? NULL : "no version";
		else if (kind == K_RECORD)
			why = obj_int(n, "id", 0) == k.id ? NULL : "another record";
		else if (kind == K_JOBS)
			why = json_object_get_array_member(o, "printers") ? NULL : "no printers";
		else if (!(arr = json_object_get_array_member(o, "records")))
			why = "no records";
		else if (kind == K_QUERY && json_array_get_length(arr) != 1)
			why = "not exactly one record for the NIK";
		else if (kind == K_LIST && json_array_get_length(arr) == 0)
			why = "an empty page";
		if (why)
			tally_wrong(t, path, &a, why);
		if (n)
			json_node_unref(n);
	}
	answer_clear(&a);
}

/*
 * The mix, in picks out of 100: an enrollment is 16 requests that each take
 * far longer than a read, so at 8 picks in 100 about half the clients are
 * uploading at any moment, which is the heavy end of a busy office (every
 * counter enrolling at once while the back office looks records up).
 */
static Kind
pick(GRand *rng)
{
	int r = g_rand_int_range(rng, 0, 100);
	return r < 40 ? K_STATUS : r < 57 ? K_LIST : r < 70 ? K_QUERY : r < 86 ? K_RECORD
	       : r < 92					       ? K_JOBS
							       : K_OPEN;
}

static gpointer
client_run(gpointer data)
{
	Client *c = data;
	g_autoptr(GMainContext) ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	SoupSession *s = session_new(c->socket_path);
	g_autoptr(GRand) rng = g_rand_new_with_seed(c->seed);
	while (!g_atomic_int_get(&g_stop)) {
		Kind k = c->mode == MODE_STATUS ? K_STATUS : pick(rng);
		if (k == K_OPEN)
			enroll_one(s, &c->tally, c->token,
				   (guint)g_atomic_int_add(&next_resident, 1));
		else
			read_one(s, c, rng, k);
	}
	g_object_unref(s);
	g_main_context_pop_thread_default(ctx);
	return NULL;
}

static Client *
clients_start(int n, const char *socket_path, Mode mode, const char *token)
{
	Client *cs = g_new0(Client, (gsize)n);
	g_atomic_int_set(&g_stop, 0);
	for (int i = 0; i < n; i++) {
		cs[i] = (Client){ .socket_path = socket_path, .mode = mode, .token = token,
				  .seed = 1000 + (guint32)i };
		tally_init(&cs[i].tally);
		cs[i].thread = g_thread_new("client", client_run, &cs[i]);
	}
	return cs;
}

/* Stops the clients (each finishes its request or enrollment) and merges their tallies. */
static void
clients_stop(Client *cs, int n, Tally *sum)
{
	g_atomic_int_set(&g_stop, 1);
	tally_init(sum);
	for (int i = 0; i < n; i++) {
		g_thread_join(cs[i].thread);
		Tally *t = &cs[i].tally;
		for (int k = 0; k < K_COUNT; k++)
			g_array_append_vals(sum->lat[k], t->lat[k]->data, t->lat[k]->len);
		sum->sent += t->sent;
		sum->answered += t->answered;
		sum->errors += t->errors;
		sum->lost += t->lost;
		sum->enrolled += t->enrolled;
		tally_clear(t);
	}
	g_free(cs);
}

static int
cmp_u32(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

/* The Pth percentile of sorted V in ms. */
static double
percentile_ms(GArray *v, double p)
{
	if (v->len == 0)
		return 0;
	gsize i = (gsize)(p / 100.0 * (double)(v->len - 1) + 0.5);
	return g_array_index(v, guint32, i) / 1000.0;
}

/* ---- the daemon's memory ---- */

/* VmRSS of PID in KiB, or -1 when the process is gone. */
static long
rss_kib(int pid)
{
	char path[64], line[256];
	g_snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kib = -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

/* ---- the bare libsoup server (the baseline) ---- */

static char *bare_body;
static gsize bare_len;

static void
bare_handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	    gpointer data)
{
	(void)server, (void)path, (void)query, (void)data;
	soup_server_message_set_status(msg, 200, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, bare_body,
					 bare_len);
}

/* api_load serve SOCKET BYTES: answers every request with BYTES of JSON until killed. */
static int
serve(const char *socket_path, gsize bytes)
{
	GError *e = NULL;
	/* {"version":"bare","pad":"xxx..."} and a newline, as ektpd ends its answers. */
	static const char head[] = "{\"version\":\"bare\",\"pad\":\"";
	bytes = MAX(bytes, sizeof head + 3);
	bare_len = bytes;
	bare_body = g_malloc(bytes + 1);
	memset(bare_body, 'x', bytes);
	memcpy(bare_body, head, sizeof head - 1);
	memcpy(bare_body + bytes - 3, "\"}\n", 3);
	bare_body[bytes] = '\0';

	unlink(socket_path);
	g_autoptr(GSocket) sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
					       G_SOCKET_PROTOCOL_DEFAULT, &e);
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
	if (sock)
		g_socket_set_listen_backlog(sock, 256);
	if (!sock || !g_socket_bind(sock, addr, FALSE, &e) || !g_socket_listen(sock, &e)) {
		fprintf(stderr, "api_load serve: %s: %s\n", socket_path, e->message);
		return 2;
	}
	g_autoptr(SoupServer) server = soup_server_new("server-header", "bare/1", NULL);
	soup_server_add_handler(server, NULL, bare_handle, NULL, NULL);
	if (!soup_server_listen_socket(server, sock, 0, &e)) {
		fprintf(stderr, "api_load serve: %s\n", e->message);
		return 2;
	}
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_main_loop_run(loop);
	return 0;
}

/* ---- the phases ---- */

static void
fail_setup(const char *what, const Answer *a)
{
	fprintf(stderr, "api_load: %s: %u %s\n", what, a->status,
		a->body ? a->body : a->transport ? a->transport : "");
	exit(2);
}

/* POST a JSON body and expect WANT; returns the answer's object (caller unrefs). */
static JsonNode *
setup_call(SoupSession *s, const char *method, const char *path, const char *token,
	   const char *json, guint want)
{
	Answer a;
	g_autoptr(GBytes) body = json ? json_bytes(json) : NULL;
	call(s, method, path, token, json ? "application/json" : NULL, body, &a);
	JsonNode *n = a.status == want ? parse_object(&a) : NULL;
	if (!n)
		fail_setup(path, &a);
	answer_clear(&a);
	return n;
}

static char *
login(SoupSession *s, const char *user)
{
	g_autofree char *body =
		g_strdup_printf("{\"user\":\"%s\",\"pin\":\"%s\"}", user, PIN);
	JsonNode *n = setup_call(s, "POST", "/v1/login", NULL, body, 200);
	char *token = g_strdup(obj_string(n, "token"));
	json_node_unref(n);
	return token;
}

static void
add_user(SoupSession *s, const char *token, const char *name, const char *role)
{
	g_autofree char *body = g_strdup_printf("{\"name\":\"%s\",\"role\":\"%s\",\"pin\":\"%s\"}",
						name, role, PIN);
	json_node_unref(setup_call(s, "POST", "/v1/users", token, body, 201));
}

/* Requests per second of GET /v1/status from N clients on SOCKET for SECONDS. */
static double
status_rps(const char *socket_path, int n, int seconds, Tally *sum)
{
	gint64 t0 = g_get_monotonic_time();
	Client *cs = clients_start(n, socket_path, MODE_STATUS, NULL);
	g_usleep((gulong)seconds * G_USEC_PER_SEC);
	gint answered = g_atomic_int_get(&g_answered);
	gint64 t1 = g_get_monotonic_time();
	clients_stop(cs, n, sum);
	return answered / ((double)(t1 - t0) / G_USEC_PER_SEC);
}

static void
reset_counters(void)
{
	g_atomic_int_set(&g_sent, 0);
	g_atomic_int_set(&g_answered, 0);
	g_atomic_int_set(&g_errors, 0);
	g_atomic_int_set(&g_lost, 0);
	g_atomic_int_set(&g_enrolled, 0);
}

/* The bare server's socket beside ektpd's, in a process of its own. */
static double
bare_rps(const char *ektpd_socket, gsize bytes, int n, int seconds, Tally *sum)
{
	g_autofree char *dir = g_path_get_dirname(ektpd_socket);
	g_autofree char *path = g_build_filename(dir, "bare.sock", NULL);
	g_autofree char *size = g_strdup_printf("%zu", bytes);
	const char *argv[] = { "/proc/self/exe", "serve", path, size, NULL };
	GError *e = NULL;
	g_autoptr(GSubprocess) p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_NONE, &e);
	if (!p) {
		fprintf(stderr, "api_load: starting the bare server: %s\n", e->message);
		exit(2);
	}
	/* Ready once it answers. */
	SoupSession *s = session_new(path);
	Answer a = { 0 };
	for (int i = 0; i < 200 && a.status != 200; i++) {
		g_usleep(20000);
		answer_clear(&a);
		call(s, "GET", "/v1/status", NULL, NULL, NULL, &a);
	}
	if (a.status != 200)
		fail_setup("the bare server does not answer", &a);
	if (a.len != bytes)
		fprintf(stderr, "api_load: the bare server answers %zu bytes, not %zu\n", a.len,
			bytes);
	answer_clear(&a);
	g_object_unref(s);
	reset_counters();
	double rps = status_rps(path, n, seconds, sum);
	g_subprocess_send_signal(p, SIGTERM);
	g_subprocess_wait(p, NULL, NULL);
	unlink(path);
	return rps;
}

/* The number of records, all pages of GET /v1/records. */
static gint64
count_records(SoupSession *s, const char *token)
{
	gint64 count = 0, after = 0;
	for (;;) {
		g_autofree char *path =
			g_strdup_printf("/v1/records?limit=1000&after=%" G_GINT64_FORMAT, after);
		JsonNode *n = setup_call(s, "GET", path, token, NULL, 200);
		JsonArray *arr = json_object_get_array_member(json_node_get_object(n), "records");
		count += arr ? json_array_get_length(arr) : 0;
		after = obj_int(n, "next_after", 0);
		json_node_unref(n);
		if (after <= 0)
			return count;
	}
}

typedef struct {
	char *state;
	gint64 total, printed, spoiled;
} Batch;

static Batch
batch_get(SoupSession *s, const char *token, gint64 id)
{
	g_autofree char *path = g_strdup_printf("/v1/print/batches/%" G_GINT64_FORMAT, id);
	JsonNode *n = setup_call(s, "GET", path, token, NULL, 200);
	Batch b = { g_strdup(obj_string(n, "state")), obj_int(n, "total", 0),
		    obj_int(n, "printed", 0), obj_int(n, "spoiled", 0) };
	json_node_unref(n);
	return b;
}

/* Enrolls RECORDS residents from a few clients at once, for the batch. */
typedef struct {
	const char *socket_path;
	const char *token;
	guint first, count;
	Tally tally;
} Prep;

static gpointer
prep_run(gpointer data)
{
	Prep *p = data;
	g_autoptr(GMainContext) ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	SoupSession *s = session_new(p->socket_path);
	for (guint i = p->first; i < p->first + p->count; i++)
		enroll_one(s, &p->tally, p->token, i);
	g_object_unref(s);
	g_main_context_pop_thread_default(ctx);
	return NULL;
}

static void
print_errors(void)
{
	for (guint i = 0; i < err_shown->len; i++)
		printf("  unexpected: %s\n", (char *)g_ptr_array_index(err_shown, i));
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], (gsize)strtoul(argv[3], NULL, 10));
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: api_load SOCKET PID SECONDS CLIENTS RECORDS RPS_SECONDS "
				"[RSS_LIMIT]\n"
				"       api_load serve SOCKET BYTES\n");
		return 2;
	}
	const char *sock = argv[1];
	int pid = atoi(argv[2]), seconds = atoi(argv[3]), nclients = atoi(argv[4]);
	int records = atoi(argv[5]), rps_seconds = atoi(argv[6]);
	double rss_limit = argc == 8 ? g_ascii_strtod(argv[7], NULL) : RSS_LIMIT;
	if (pid <= 0 || seconds < 3 || nclients < 1 || records < 1 || rps_seconds < 1 ||
	    rss_limit < 1) {
		fprintf(stderr, "api_load: SECONDS at least 3, RSS_LIMIT at least 1, the others "
				"at least 1\n");
		return 2;
	}
	int window = MIN(WINDOW_MAX_S, seconds / 3);
	signal(SIGPIPE, SIG_IGN);
	err_shown = g_ptr_array_new_with_free_func(g_free);
	known = g_array_new(FALSE, FALSE, sizeof(Known));
	make_images();
	SoupSession *s = session_new(sock);
	int rc = 0;

	/* 1. Accounts. */
	add_user(s, NULL, "admin", "admin");
	g_autofree char *admin = login(s, "admin");
	add_user(s, admin, "op", "operator");
	add_user(s, admin, "sup", "supervisor");
	g_autofree char *op = login(s, "op");
	g_autofree char *sup = login(s, "sup");

	/* 2. The residents whose cards the batch prints, four at a time. */
	gint64 t0 = g_get_monotonic_time();
	Prep prep[4];
	for (int i = 0; i < 4; i++) {
		guint per = (guint)records / 4, extra = (guint)records % 4;
		prep[i] = (Prep){ .socket_path = sock, .token = op,
				  .first = (guint)i * per + MIN((guint)i, extra),
				  .count = per + ((guint)i < extra) };
		tally_init(&prep[i].tally);
	}
	GThread *pt[4];
	for (int i = 0; i < 4; i++)
		pt[i] = g_thread_new("prep", prep_run, &prep[i]);
	guint64 prep_bad = 0, prep_done = 0;
	for (int i = 0; i < 4; i++) {
		g_thread_join(pt[i]);
		prep_bad += prep[i].tally.errors + prep[i].tally.lost;
		prep_done += prep[i].tally.enrolled;
		tally_clear(&prep[i].tally);
	}
	if (prep_bad || prep_done != (guint64)records) {
		printf("setup: %" G_GUINT64_FORMAT " of %d residents enrolled\n", prep_done,
		       records);
		print_errors();
		return 2;
	}
	next_resident = records;
	min_records = (guint)records;
	Answer a;
	call(s, "GET", "/v1/status", NULL, NULL, NULL, &a);
	if (a.status != 200)
		fail_setup("GET /v1/status", &a);
	gsize status_len = a.len;
	answer_clear(&a);
	printf("setup: %d residents enrolled in %.1f s (%d uploads); status answer %zu bytes\n",
	       records, (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC,
	       records * N_UPLOADS, status_len);

	/* 3. Requests per second: ektpd, then the bare server. */
	Tally rt_d, rt_b;
	reset_counters();
	double rps_d = status_rps(sock, nclients, rps_seconds, &rt_d);
	double rps_b = bare_rps(sock, status_len, nclients, rps_seconds, &rt_b);
	g_array_sort(rt_d.lat[K_STATUS], cmp_u32);
	g_array_sort(rt_b.lat[K_STATUS], cmp_u32);
	printf("API GET status  ektpd %6.0f req/s   bare libsoup %6.0f req/s   ratio %.2f   "
	       "(%d clients, %d s each)\n",
	       rps_d, rps_b, rps_d / rps_b, nclients, rps_seconds);
	printf("                p99 ektpd %.1f ms   bare libsoup %.1f ms\n",
	       percentile_ms(rt_d.lat[K_STATUS], 99), percentile_ms(rt_b.lat[K_STATUS], 99));
	if (rt_d.errors || rt_d.lost || rt_b.errors || rt_b.lost) {
		printf("requests/s: %" G_GUINT64_FORMAT " error answers, %" G_GUINT64_FORMAT
		       " lost\n",
		       rt_d.errors + rt_b.errors, rt_d.lost + rt_b.lost);
		rc = 1;
	}
	tally_clear(&rt_d);
	tally_clear(&rt_b);

	/* 4. The batch, and the load while it prints. */
	JsonNode *bn = setup_call(s, "POST", "/v1/print/batches", op, "{}", 201);
	gint64 batch = obj_int(bn, "id", 0);
	json_node_unref(bn);
	Batch b0 = batch_get(s, op, batch);
	printf("load: %d clients for %d s while batch %" G_GINT64_FORMAT
	       " prints %" G_GINT64_FORMAT " cards\n",
	       nclients, seconds, batch, b0.total);
	g_free(b0.state);

	reset_counters();
	GArray *rss = g_array_new(FALSE, FALSE, sizeof(long));
	t0 = g_get_monotonic_time();
	Client *cs = clients_start(nclients, sock, MODE_MIX, op);
	gint64 printed_at_start = -1;
	gboolean daemon_gone = FALSE;
	for (int sec = 1; sec <= seconds; sec++) {
		gint64 wake = t0 + (gint64)sec * G_USEC_PER_SEC;
		gint64 now = g_get_monotonic_time();
		if (wake > now)
			g_usleep((gulong)(wake - now));
		long kib = rss_kib(pid);
		if (kib < 0) {
			daemon_gone = TRUE;
			break;
		}
		g_array_append_val(rss, kib);
		if (sec == 1 || sec % 10 == 0) {
			Batch b = batch_get(s, op, batch);
			if (printed_at_start < 0)
				printed_at_start = b.printed;
			if (sec % 10 == 0)
				printf("  %3d s  answered %7d (%5.0f req/s)  errors %d  lost %d  "
				       "enrollments %4d  RSS %6.1f MiB  batch %s %" G_GINT64_FORMAT
				       "/%" G_GINT64_FORMAT " printed\n",
				       sec, g_atomic_int_get(&g_answered),
				       g_atomic_int_get(&g_answered) / (double)sec,
				       g_atomic_int_get(&g_errors), g_atomic_int_get(&g_lost),
				       g_atomic_int_get(&g_enrolled), kib / 1024.0, b.state,
				       b.printed, b.total);
			fflush(stdout);
			g_free(b.state);
		}
	}
	gint64 t_end = g_get_monotonic_time();
	Batch b1 = daemon_gone ? (Batch){ 0 } : batch_get(s, op, batch);
	Tally sum;
	clients_stop(cs, nclients, &sum);
	double wall = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
	if (daemon_gone) {
		printf("ektpd exited during the load\n");
		print_errors();
		return 1;
	}

	/* 5. Results. */
	printf("%-18s %8s %9s %9s %9s\n", "request", "count", "p50 ms", "p99 ms", "max ms");
	guint64 all = 0;
	for (int k = 0; k < K_COUNT; k++) {
		GArray *v = sum.lat[k];
		g_array_sort(v, cmp_u32);
		all += v->len;
		printf("%-18s %8u %9.1f %9.1f %9.1f\n", kind_names[k], v->len,
		       percentile_ms(v, 50), percentile_ms(v, 99), percentile_ms(v, 100));
	}
	GArray *merged = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (int k = 0; k < K_COUNT; k++)
		g_array_append_vals(merged, sum.lat[k]->data, sum.lat[k]->len);
	g_array_sort(merged, cmp_u32);
	printf("%-18s %8" G_GUINT64_FORMAT " %9.1f %9.1f %9.1f   (%.0f req/s over %.1f s)\n",
	       "all", all, percentile_ms(merged, 50), percentile_ms(merged, 99),
	       percentile_ms(merged, 100), (double)all / ((double)(t_end - t0) / G_USEC_PER_SEC),
	       wall);
	g_array_unref(merged);

	printf("requests    sent %" G_GUINT64_FORMAT "   answered %" G_GUINT64_FORMAT
	       "   error answers %" G_GUINT64_FORMAT "   lost %" G_GUINT64_FORMAT
	       "   (target 0 and 0)\n",
	       sum.sent, sum.answered, sum.errors, sum.lost);
	if (sum.errors || sum.lost || sum.sent != sum.answered + sum.lost)
		rc = 1;

	gint64 nrec = count_records(s, sup);
	JsonNode *open = setup_call(s, "GET", "/v1/enrollments", op, NULL, 200);
	JsonArray *oa = json_object_get_array_member(json_node_get_object(open), "enrollments");
	guint nopen = oa ? json_array_get_length(oa) : 0;
	json_node_unref(open);
	gint64 want = records + (gint64)sum.enrolled;
	printf("records     %" G_GINT64_FORMAT " stored = %d before + %" G_GUINT64_FORMAT
	       " enrolled under load (want %" G_GINT64_FORMAT ")   sessions left open %u\n",
	       nrec, records, sum.enrolled, want, nopen);
	if (nrec != want || nopen != 0)
		rc = 1;

	gboolean printing = g_strcmp0(b1.state, "running") == 0 && b1.printed > printed_at_start;
	printf("batch %-5" G_GINT64_FORMAT " %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
	       " cards printed during the load (%" G_GINT64_FORMAT " before, %" G_GINT64_FORMAT
	       " spoiled), %s at its end   (target: printing throughout)\n",
	       batch, b1.printed - printed_at_start, b1.total, printed_at_start, b1.spoiled,
	       b1.state ? b1.state : "?");
	if (!printing)
		rc = 1;
	g_free(b1.state);
	g_autofree char *cancel =
		g_strdup_printf("/v1/print/batches/%" G_GINT64_FORMAT "/cancel", batch);
	call(s, "POST", cancel, op, "application/json", NULL, &a);
	answer_clear(&a);

	double first = 0, last = 0;
	for (int i = 0; i < window; i++) {
		first += (double)g_array_index(rss, long, window + i);
		last += (double)g_array_index(rss, long, rss->len - 1 - (guint)i);
	}
	first /= window, last /= window;
	long peak = 0;
	for (guint i = 0; i < rss->len; i++)
		peak = MAX(peak, g_array_index(rss, long, i));
	printf("daemon RSS  by %d s, MiB (low-mean-high):", window);
	for (guint w = 0; w + (guint)window <= rss->len; w += (guint)window) {
		long lo = G_MAXLONG, hi = 0;
		double mean = 0;
		for (guint i = w; i < w + (guint)window; i++) {
			long v = g_array_index(rss, long, i);
			lo = MIN(lo, v), hi = MAX(hi, v), mean += (double)v / window;
		}
		printf(" %.0f-%.0f-%.0f", lo / 1024.0, mean / 1024, hi / 1024.0);
	}
	printf("\n");
	printf("daemon RSS  %d-%d s %.1f MiB   last %d s %.1f MiB   ratio %.3f   peak %.1f MiB   "
	       "(target <= %.2f)\n",
	       window, 2 * window, first / 1024, window, last / 1024, last / first, peak / 1024.0,
	       rss_limit);
	if (last / first > rss_limit)
		rc = 1;
	print_errors();
	g_array_unref(rss);
	tally_clear(&sum);
	g_object_unref(s);
	return rc;
}
