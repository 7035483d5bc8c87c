/* SPDX-License-Identifier: MIT */
/*
 * vchip: a virtual ISO 7816-4 chip for vsmartcard's vpcd reader driver, so the
 * PC/SC encoder is tested through the real pcscd.  It connects to vpcd's TCP
 * port, as the card in slot "Virtual PCD 00 00" (port P) or "… 00 01" (P+1),
 * and speaks vpcd's framing: every message is a 2-byte big-endian length and
 * that many bytes.  A 1-byte message is a control: 0 power off, 1 power on,
 * 2 reset, 4 "send your ATR" (answered with the ATR); anything longer is a
 * command APDU, answered with the response APDU (data and SW1 SW2).
 *
 * It is written apart from drivers/pcsc/ on purpose: a misreading of ISO
 * 7816-4 shared by the driver and its test chip would pass unseen.
 *
 * The chip: an MF holding DFs (applications, found by name) and transparent
 * EFs; a DF holds EFs.  Commands (CLA 00 or 80; short and extended APDUs):
 *   SELECT (A4)        P1 00 (MF, or a child of the current DF by FID), 01 (child DF), 02
 *                      (child EF), 03 (parent), 04 (DF by name), 08/09 (path from the MF /
 *                      the current DF); P2 0C no answer data, 00/04 the FCP template
 *                      (62: 80 size, 82 descriptor, 83 FID, 84 name, 8A life cycle)
 *   CREATE FILE (E0)   data: an FCP template 62 with 82 (01 transparent EF, 38 DF), 83 FID,
 *                      80 or 81 size (EFs: required), 84 name (DFs); DFs only under the MF;
 *                      6A89 FID taken, 6A8A name taken, 6A84 beyond --capacity
 *   DELETE FILE (E4)   P1 00 the current EF (or DF), 02 an EF by FID, 01 a DF by FID,
 *                      04 a DF by name (with its EFs)
 *   UPDATE BINARY (D6) 15-bit offset; 6A84 when the data would pass the EF's size,
 *                      6B00 when the offset does
 *   READ BINARY (B0)   6282 and the bytes there are when Le passes the end; 6B00 past it
 *   GET RESPONSE (C0)  the rest of an answer longer than --max-response (61xx)
 *   FF CA 00 00 Le     the UID, as PC/SC readers answer it
 * Everything else: 6D00 (instruction), 6E00 (class), 6881 (logical channel).
 * Sizes are enforced, and the whole chip is rewritten to --state FILE (text:
 * "df AID FID" and "ef PARENT FID SIZE HEX" lines, replaced by rename) after
 * every change, and read back at start: the files survive a restart.  To
 * reset the chip, delete the state file while it is stopped (or DELETE FILE
 * its application).
 *
 * Faults, from the command line or a control file (--control FILE: read and
 * deleted before each APDU; one per line, "clear" forgets the armed ones).
 * N counts from the moment the fault is armed, 1 = the next one; each fault
 * happens once:
 *   mute N            no answer to the Nth APDU: silent until stopped (as a
 *                     chip that hangs; vpcd waits for ever)
 *   mute-write N      the same, counting UPDATE BINARY commands only
 *   fail N [SW]       the Nth APDU answers SW (default 6F00) and does nothing
 *   fail-write N [SW] the Nth UPDATE BINARY answers SW (default 6581: memory failure)
 *   tear N            the card is pulled after N more bytes of UPDATE BINARY data:
 *                     the command holding byte N+1 writes up to it, the state is
 *                     saved, the connection drops and vchip exits with status 3
 *
 * Usage: vchip [--port P] [--state FILE] [--uid HEX] [--atr HEX] [--capacity BYTES]
 *              [--max-response N] [--wait S] [--reconnect S] [--control FILE] [-v…]
 *              [--mute N] [--mute-write N] [--fail N[:SW]] [--fail-write N[:SW]] [--tear N]
 * Exit status: 0 stopped by SIGTERM/SIGINT, or pcscd closed the connection
 * (and no reconnect); 1 error (no vpcd to connect to); 3 torn.
 * TCP_NODELAY is set and TCP_QUICKACK renewed before each read: Debian's vpcd
 * 0.8 sends the length and the APDU in two writes, and Nagle on its side
 * against a delayed ACK on ours costs 40 ms per APDU otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX 0xffff

typedef struct VFile VFile;
struct VFile {
	gboolean df;
	uint16_t fid; /* 0: a DF known by name only */
	uint8_t aid[16];
	size_t aid_len;
	VFile *parent; /* NULL: the MF */
	size_t size;   /* EFs */
	uint8_t *data; /* EFs: SIZE bytes */
};

/* An armed fault: LEFT counts down to the APDU (or byte) it strikes; -1 = off. */
typedef struct {
	long left;
	uint16_t sw;
} Fault;

enum { F_MUTE, F_MUTE_WRITE, F_FAIL, F_FAIL_WRITE, F_TEAR, F_COUNT };
static const char *const fault_names[F_COUNT] = { "mute", "mute-write", "fail", "fail-write",
						  "tear" };

static struct {
	GPtrArray *files; /* VFile*; DFs before their EFs */
	VFile *cur_df;    /* NULL: the MF */
	VFile *cur_ef;
	Fault fault[F_COUNT];
	uint8_t *pending; /* the rest of a long answer, for GET RESPONSE */
	size_t pending_len;
	unsigned long apdus;
	/* Options. */
	char *state_path;
	char *control_path;
	uint8_t atr[33];
	size_t atr_len;
	uint8_t uid[16];
	size_t uid_len;
	long capacity;
	long max_response;
	int verbose;
} chip;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void logv(int level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
logv(int level, const char *fmt, ...)
{
	if (chip.verbose < level)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "vchip[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
dump(const char *dir, const uint8_t *b, size_t n)
{
	if (chip.verbose < 2)
		return;
	GString *s = g_string_new(NULL);
	for (size_t i = 0; i < n && i < 64; i++)
		g_string_append_printf(s, "%02X ", b[i]);
	logv(2, "  %s %s%s", dir, s->str, n > 64 ? "…" : "");
	g_string_free(s, TRUE);
}

/* ---- hex ---- */

static int
parse_hex(const char *text, uint8_t *out, size_t max, size_t *len)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == ':')
			continue;
		int v = g_ascii_xdigit_value(*p);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= max)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return -1;
	*len = n;
	return 0;
}

/* ---- the file system ---- */

static void
file_free(VFile *f)
{
	g_free(f->data);
	g_free(f);
}

static long
used_bytes(void)
{
	long n = 0;
	for (guint i = 0; i < chip.files->len; i++)
		n += (long)((VFile *)chip.files->pdata[i])->size;
	return n;
}

/* A child of PARENT (NULL: the MF) with FID; DF_ONLY/EF_ONLY narrow it. */
static VFile *
child_by_fid(VFile *parent, uint16_t fid, int want_df)
{
	for (guint i = 0; i < chip.files->len; i++) {
		VFile *f = chip.files->pdata[i];
		if (f->parent == parent && f->fid == fid && (want_df < 0 || f->df == want_df))
			return f;
	}
	return NULL;
}

static VFile *
df_by_name(const uint8_t *aid, size_t len)
{
	for (guint i = 0; i < chip.files->len; i++) {
		VFile *f = chip.files->pdata[i];
		if (f->df && f->aid_len == len && memcmp(f->aid, aid, len) == 0)
			return f;
	}
	return NULL;
}

static void
delete_file(VFile *f)
{
	/* A DF takes its EFs with it. */
	for (guint i = chip.files->len; i-- > 0;) {
		VFile *c = chip.files->pdata[i];
		if (c->parent == f)
			delete_file(c);
	}
	if (chip.cur_ef == f || (chip.cur_ef && chip.cur_ef->parent == f))
		chip.cur_ef = NULL;
	if (chip.cur_df == f)
		chip.cur_df = NULL;
	g_ptr_array_remove(chip.files, f);
	file_free(f);
}

static void
reset_selection(void)
{
	chip.cur_df = NULL;
	chip.cur_ef = NULL;
	g_clear_pointer(&chip.pending, g_free);
	chip.pending_len = 0;
}

/* ---- persistence ---- */

/* Upper-case hex of B, "-" when empty (caller frees).  No printf per byte:
 * the whole chip is written after every UPDATE BINARY. */
static char *
hex_of(const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	if (n == 0)
		return g_strdup("-");
	char *s = g_malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 0xf];
	}
	s[2 * n] = '\0';
	return s;
}

static void
save_state(void)
{
	if (!chip.state_path)
		return;
	GString *s = g_string_new("# vchip state 1: df AID FID | ef PARENT-AID FID SIZE DATA\n");
	for (guint i = 0; i < chip.files->len; i++) {
		VFile *f = chip.files->pdata[i];
		if (f->df) {
			g_autofree char *aid = hex_of(f->aid, f->aid_len);
			g_string_append_printf(s, "df %s %04X\n", aid, f->fid);
		} else {
			g_autofree char *parent =
				f->parent ? hex_of(f->parent->aid, f->parent->aid_len)
					  : g_strdup("MF");
			g_autofree char *data = hex_of(f->data, f->size);
			g_string_append_printf(s, "ef %s %04X %zu %s\n", parent, f->fid, f->size,
					       data);
		}
	}
	/* Written beside and renamed over: a stop mid-write keeps the old state. */
	g_autofree char *tmp = g_strdup_printf("%s.tmp", chip.state_path);
	FILE *fp = fopen(tmp, "w");
	if (!fp || fwrite(s->str, 1, s->len, fp) != s->len || fclose(fp) != 0 ||
	    rename(tmp, chip.state_path) != 0)
		fprintf(stderr, "vchip: cannot save %s: %s\n", chip.state_path, strerror(errno));
	g_string_free(s, TRUE);
}

static int
load_state(void)
{
	g_autofree char *text = NULL;
	GError *e = NULL;
	if (!chip.state_path)
		return 0;
	if (!g_file_get_contents(chip.state_path, &text, NULL, &e)) {
		int missing = g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT);
		if (!missing)
			fprintf(stderr, "vchip: %s\n", e->message);
		g_error_free(e);
		return missing ? 0 : -1;
	}
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		g_auto(GStrv) w = g_strsplit(lines[i], " ", -1);
		guint n = g_strv_length(w);
		if (n == 0 || !*w[0] || w[0][0] == '#')
			continue;
		VFile *f = g_new0(VFile, 1);
		size_t len;
		uint8_t fid[2];
		if (strcmp(w[0], "df") == 0 && n == 3 &&
		    parse_hex(w[1], f->aid, sizeof f->aid, &f->aid_len) == 0 &&
		    parse_hex(w[2], fid, 2, &len) == 0 && len == 2) {
			f->df = TRUE;
			f->fid = (uint16_t)(fid[0] << 8 | fid[1]);
		} else if (strcmp(w[0], "ef") == 0 && n == 5 &&
			   parse_hex(w[2], fid, 2, &len) == 0 && len == 2) {
			uint8_t aid[16];
			size_t aid_len;
			f->fid = (uint16_t)(fid[0] << 8 | fid[1]);
			f->size = (size_t)g_ascii_strtoull(w[3], NULL, 10);
			f->data = g_malloc0(f->size ? f->size : 1);
			if (strcmp(w[1], "MF") != 0) {
				if (parse_hex(w[1], aid, sizeof aid, &aid_len) < 0 ||
				    !(f->parent = df_by_name(aid, aid_len)))
					goto bad;
			}
			if (strcmp(w[4], "-") != 0 &&
			    (parse_hex(w[4], f->data, f->size, &len) < 0 || len != f->size))
				goto bad;
		} else {
			goto bad;
		}
		g_ptr_array_add(chip.files, f);
		continue;
	bad:
		fprintf(stderr, "vchip: %s:%d: not a state line\n", chip.state_path, i + 1);
		file_free(f);
		return -1;
	}
	logv(1, "state %s: %u files, %ld bytes", chip.state_path, chip.files->len, used_bytes());
	return 0;
}

/* ---- faults ---- */

static int
arm(const char *kind, long n, const char *sw_text)
{
	if (strcmp(kind, "clear") == 0) {
		for (int f = 0; f < F_COUNT; f++)
			chip.fault[f].left = -1;
		logv(1, "faults cleared");
		return 0;
	}
	for (int f = 0; f < F_COUNT; f++) {
		if (strcmp(kind, fault_names[f]) != 0)
			continue;
		if (n < (f == F_TEAR ? 0 : 1))
			return -1;
		uint16_t sw = f == F_FAIL_WRITE ? 0x6581 : 0x6f00;
		if (sw_text && *sw_text) {
			uint8_t b[2];
			size_t len;
			if (parse_hex(sw_text, b, 2, &len) < 0 || len != 2)
				return -1;
			sw = (uint16_t)(b[0] << 8 | b[1]);
		}
		chip.fault[f].left = n;
		chip.fault[f].sw = sw;
		logv(1, "armed: %s %ld (SW %04X)", kind, n, sw);
		return 0;
	}
	return -1;
}

/* "N[:SW]" from the command line. */
static gboolean
arm_option(const char *name, const char *value, gpointer data, GError **error)
{
	(void)data;
	const char *kind = name + 2; /* "--fail-write" */
	g_auto(GStrv) parts = g_strsplit(value, ":", 2);
	char *end;
	long n = strtol(parts[0], &end, 10);
	if (*end || arm(kind, n, parts[1]) < 0) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: bad value '%s'",
			    name, value);
		return FALSE;
	}
	return TRUE;
}

static void
read_control(void)
{
	g_autofree char *text = NULL;
	if (!chip.control_path || !g_file_get_contents(chip.control_path, &text, NULL, NULL))
		return;
	unlink(chip.control_path);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		g_auto(GStrv) w = g_strsplit(g_strstrip(lines[i]), " ", -1);
		if (!w[0] || !*w[0])
			continue;
		long n = w[1] ? strtol(w[1], NULL, 10) : 0;
		if (arm(w[0], n, w[1] ? w[2] : NULL) < 0)
			fprintf(stderr, "vchip: control: not a fault: '%s'\n", lines[i]);
	}
}

/* Whether fault F strikes now; counts it down. */
static gboolean
strikes(int f)
{
	if (chip.fault[f].left < 0)
		return FALSE;
	if (--chip.fault[f].left > 0)
		return FALSE;
	chip.fault[f].left = -1;
	return TRUE;
}

/* ---- APDUs ---- */

typedef struct {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	long le; /* -1: none */
} Apdu;

/* Cases 1-4, short and extended (ISO 7816-4 5.1). */
static int
parse_apdu(const uint8_t *b, size_t n, Apdu *a)
{
	if (n < 4)
		return -1;
	*a = (Apdu){ b[0], b[1], b[2], b[3], NULL, 0, -1 };
	if (n == 4)
		return 0;
	if (n == 5) {
		a->le = b[4] ? b[4] : 256;
		return 0;
	}
	if (b[4] != 0) {
		a->lc = b[4];
		a->data = b + 5;
		if (n == 5 + a->lc)
			return 0;
		if (n == 6 + a->lc) {
			a->le = b[n - 1] ? b[n - 1] : 256;
			return 0;
		}
		return -1;
	}
	if (n == 7) {
		long le = b[5] << 8 | b[6];
		a->le = le ? le : 65536;
		return 0;
	}
	a->lc = (size_t)(b[5] << 8 | b[6]);
	a->data = b + 7;
	if (a->lc == 0)
		return -1;
	if (n == 7 + a->lc)
		return 0;
	if (n == 9 + a->lc) {
		long le = b[n - 2] << 8 | b[n - 1];
		a->le = le ? le : 65536;
		return 0;
	}
	return -1;
}

typedef struct {
	uint8_t b[FRAME_MAX];
	size_t len;
	gboolean modified; /* save the state */
	gboolean torn;     /* drop the connection instead of answering */
	gboolean mute;
} Reply;

static void
put(Reply *r, const uint8_t *data, size_t n)
{
	n = MIN(n, FRAME_MAX - 2 - r->len);
	memcpy(r->b + r->len, data, n);
	r->len += n;
}

static void
sw(Reply *r, uint16_t word)
{
	r->b[r->len++] = (uint8_t)(word >> 8);
	r->b[r->len++] = (uint8_t)(word & 0xff);
}

/* Answers DATA, or its first --max-response bytes with 61xx and the rest kept
 * for GET RESPONSE; then WORD. */
static void
answer(Reply *r, const uint8_t *data, size_t n, uint16_t word)
{
	if (chip.max_response > 0 && n > (size_t)chip.max_response) {
		size_t first = (size_t)chip.max_response, rest = n - first;
		g_free(chip.pending);
		chip.pending = g_memdup2(data + first, rest);
		chip.pending_len = rest;
		put(r, data, first);
		sw(r, (uint16_t)(0x6100 | (rest >= 256 ? 0 : rest)));
		return;
	}
	put(r, data, n);
	sw(r, word);
}

static size_t
fcp_of(const VFile *f, uint8_t *out)
{
	size_t n = 2;
	if (f && !f->df) {
		const uint8_t t[] = { 0x80, 0x02, f->size >> 8, f->size & 0xff, 0x82, 0x01, 0x01 };
		memcpy(out + n, t, sizeof t);
		n += sizeof t;
	} else {
		const uint8_t t[] = { 0x82, 0x01, 0x38 };
		memcpy(out + n, t, sizeof t);
		n += sizeof t;
	}
	uint16_t fid = f ? f->fid : 0x3f00;
	if (fid) {
		const uint8_t t[] = { 0x83, 0x02, fid >> 8, fid & 0xff };
		memcpy(out + n, t, sizeof t);
		n += sizeof t;
	}
	if (f && f->df && f->aid_len) {
		out[n++] = 0x84;
		out[n++] = (uint8_t)f->aid_len;
		memcpy(out + n, f->aid, f->aid_len);
		n += f->aid_len;
	}
	const uint8_t lcs[] = { 0x8a, 0x01, 0x05 }; /* operational, activated */
	memcpy(out + n, lcs, sizeof lcs);
	n += sizeof lcs;
	out[0] = 0x62;
	out[1] = (uint8_t)(n - 2);
	return n;
}

static void
do_select(const Apdu *a, Reply *r)
{
	VFile *df = chip.cur_df, *ef = NULL;
	gboolean found = TRUE, is_df = TRUE;
	uint16_t fid = a->lc >= 2 ? (uint16_t)(a->data[0] << 8 | a->data[1]) : 0;
	switch (a->p1) {
	case 0x00:
		if (a->lc == 0 || (a->lc == 2 && fid == 0x3f00)) {
			df = NULL;
		} else if (a->lc == 2) {
			VFile *f = child_by_fid(chip.cur_df, fid, -1);
			found = f != NULL;
			if (f && f->df) {
				df = f;
			} else {
				ef = f;
				is_df = FALSE;
			}
		} else {
			sw(r, 0x6a80);
			return;
		}
		break;
	case 0x01:
	case 0x02:
		if (a->lc != 2) {
			sw(r, 0x6a80);
			return;
		}
		if (a->p1 == 0x01) {
			df = child_by_fid(chip.cur_df, fid, TRUE);
			found = df != NULL;
		} else {
			ef = child_by_fid(chip.cur_df, fid, FALSE);
			found = ef != NULL;
			is_df = FALSE;
		}
		break;
	case 0x03:
		df = chip.cur_df ? chip.cur_df->parent : NULL;
		break;
	case 0x04:
		if (a->lc < 1 || a->lc > 16) {
			sw(r, 0x6a80);
			return;
		}
		df = df_by_name(a->data, a->lc);
		found = df != NULL;
		break;
	case 0x08:
	case 0x09: {
		if (a->lc < 2 || a->lc % 2) {
			sw(r, 0x6a80);
			return;
		}
		VFile *at = a->p1 == 0x08 ? NULL : chip.cur_df;
		for (size_t i = 0; i < a->lc && found; i += 2) {
			uint16_t id = (uint16_t)(a->data[i] << 8 | a->data[i + 1]);
			if (i == 0 && a->p1 == 0x08 && id == 0x3f00)
				continue;
			if (ef) { /* an EF has no children */
				found = FALSE;
				break;
			}
			VFile *f = child_by_fid(at, id, -1);
			found = f != NULL;
			if (f && f->df)
				at = f;
			else
				ef = f;
		}
		df = at;
		is_df = ef == NULL;
		break;
	}
	default:
		sw(r, 0x6a86);
		return;
	}
	if (!found) {
		sw(r, 0x6a82);
		return;
	}
	chip.cur_df = df;
	chip.cur_ef = is_df ? NULL : ef;
	if ((a->p2 & 0x0c) == 0x0c || (a->p2 & 0x0c) == 0x08) {
		sw(r, 0x9000);
		return;
	}
	uint8_t fcp[64];
	size_t n = fcp_of(is_df ? df : ef, fcp);
	put(r, fcp, n);
	sw(r, 0x9000);
}

static void
do_create(const Apdu *a, Reply *r)
{
	if (a->p1 || a->p2) {
		sw(r, 0x6a86);
		return;
	}
	if (a->lc < 2 || a->data[0] != 0x62 || a->data[1] != a->lc - 2) {
		sw(r, 0x6a80);
		return;
	}
	int fdb = -1;
	long size = -1;
	uint16_t fid = 0;
	const uint8_t *name = NULL;
	size_t name_len = 0;
	for (size_t i = 2; i < a->lc;) {
		if (i + 2 > a->lc || i + 2 + a->data[i + 1] > a->lc) {
			sw(r, 0x6a80);
			return;
		}
		uint8_t tag = a->data[i], l = a->data[i + 1];
		const uint8_t *v = a->data + i + 2;
		if ((tag == 0x80 || tag == 0x81) && l >= 1 && l <= 3) {
			size = 0;
			for (int k = 0; k < l; k++)
				size = size << 8 | v[k];
		} else if (tag == 0x82 && l >= 1) {
			fdb = v[0];
		} else if (tag == 0x83 && l == 2) {
			fid = (uint16_t)(v[0] << 8 | v[1]);
		} else if (tag == 0x84 && l >= 1 && l <= 16) {
			name = v;
			name_len = l;
		}
		i += 2 + l;
	}
	if (fid == 0x3f00 || fid == 0x3fff || fid == 0xffff) {
		sw(r, 0x6a80);
		return;
	}
	VFile *f = g_new0(VFile, 1);
	f->fid = fid;
	if (fdb == 0x38) {
		if (chip.cur_df) { /* applications live under the MF */
			file_free(f);
			sw(r, 0x6985);
			return;
		}
		if (!name && !fid) {
			file_free(f);
			sw(r, 0x6a80);
			return;
		}
		if (name && df_by_name(name, name_len)) {
			file_free(f);
			sw(r, 0x6a8a);
			return;
		}
		f->df = TRUE;
		memcpy(f->aid, name, name_len);
		f->aid_len = name_len;
	} else if (fdb == 0x01) {
		if (!fid || size < 0) {
			file_free(f);
			sw(r, 0x6a80);
			return;
		}
		if (used_bytes() + size > chip.capacity) {
			file_free(f);
			sw(r, 0x6a84);
			return;
		}
		f->size = (size_t)size;
		f->data = g_malloc0(f->size ? f->size : 1);
		f->parent = chip.cur_df;
	} else {
		file_free(f);
		sw(r, fdb < 0 ? 0x6a80 : 0x6a81);
		return;
	}
	if (fid && child_by_fid(f->parent, fid, -1)) {
		file_free(f);
		sw(r, 0x6a89);
		return;
	}
	g_ptr_array_add(chip.files, f);
	if (f->df) {
		chip.cur_df = f;
		chip.cur_ef = NULL;
	} else {
		chip.cur_ef = f;
	}
	r->modified = TRUE;
	sw(r, 0x9000);
}

static void
do_delete(const Apdu *a, Reply *r)
{
	VFile *f = NULL;
	uint16_t fid = a->lc == 2 ? (uint16_t)(a->data[0] << 8 | a->data[1]) : 0;
	switch (a->p1) {
	case 0x00:
		f = a->lc == 0   ? (chip.cur_ef ? chip.cur_ef : chip.cur_df)
		    : a->lc == 2 ? child_by_fid(chip.cur_df, fid, -1)
				 : NULL;
		break;
	case 0x01:
		f = a->lc == 2 ? child_by_fid(chip.cur_df, fid, TRUE) : NULL;
		break;
	case 0x02:
		f = a->lc == 2 ? child_by_fid(chip.cur_df, fid, FALSE) : NULL;
		break;
	case 0x04:
		f = a->lc >= 1 && a->lc <= 16 ? df_by_name(a->data, a->lc) : NULL;
		break;
	default:
		sw(r, 0x6a86);
		return;
	}
	if (!f) {
		sw(r, 0x6a82);
		return;
	}
	delete_file(f);
	r->modified = TRUE;
	sw(r, 0x9000);
}

static void
do_update(const Apdu *a, Reply *r)
{
	VFile *f = chip.cur_ef;
	size_t off = (size_t)((a->p1 & 0x7f) << 8 | a->p2);
	if (a->p1 & 0x80) {
		sw(r, 0x6a81); /* short EF identifiers: not offered */
		return;
	}
	if (!f) {
		sw(r, 0x6986);
		return;
	}
	if (a->lc == 0) {
		sw(r, 0x6700);
		return;
	}
	if (off > f->size) {
		sw(r, 0x6b00);
		return;
	}
	if (off + a->lc > f->size) {
		sw(r, 0x6a84);
		return;
	}
	if (strikes(F_FAIL_WRITE)) {
		logv(1, "fault: fail-write: SW %04X", chip.fault[F_FAIL_WRITE].sw);
		sw(r, chip.fault[F_FAIL_WRITE].sw);
		return;
	}
	if (strikes(F_MUTE_WRITE)) {
		r->mute = TRUE;
		return;
	}
	size_t n = a->lc;
	if (chip.fault[F_TEAR].left >= 0) {
		if ((size_t)chip.fault[F_TEAR].left < n) {
			n = (size_t)chip.fault[F_TEAR].left;
			chip.fault[F_TEAR].left = -1;
			r->torn = TRUE;
		} else {
			chip.fault[F_TEAR].left -= (long)n;
		}
	}
	memcpy(f->data + off, a->data, n);
	r->modified = TRUE;
	if (r->torn) {
		logv(0, "fault: tear: EF %04X torn at offset %zu (%zu of %zu bytes written)",
		     f->fid, off + n, n, a->lc);
		return;
	}
	sw(r, 0x9000);
}

static void
do_read(const Apdu *a, Reply *r)
{
	VFile *f = chip.cur_ef;
	size_t off = (size_t)((a->p1 & 0x7f) << 8 | a->p2);
	if (a->p1 & 0x80) {
		sw(r, 0x6a81);
		return;
	}
	if (!f) {
		sw(r, 0x6986);
		return;
	}
	if (a->le < 0 || a->lc > 0) {
		sw(r, 0x6700);
		return;
	}
	if (off >= f->size) {
		sw(r, 0x6b00);
		return;
	}
	size_t n = MIN((size_t)a->le, f->size - off);
	n = MIN(n, (size_t)FRAME_MAX - 2);
	answer(r, f->data + off, n, n < (size_t)a->le ? 0x6282 : 0x9000);
}

static void
do_get_response(const Apdu *a, Reply *r)
{
	if (!chip.pending) {
		sw(r, 0x6985);
		return;
	}
	size_t n = MIN(chip.pending_len, a->le < 0 ? 256 : (size_t)a->le);
	put(r, chip.pending, n);
	size_t rest = chip.pending_len - n;
	if (rest == 0) {
		g_clear_pointer(&chip.pending, g_free);
		chip.pending_len = 0;
		sw(r, 0x9000);
		return;
	}
	memmove(chip.pending, chip.pending + n, rest);
	chip.pending_len = rest;
	sw(r, (uint16_t)(0x6100 | (rest >= 256 ? 0 : rest)));
}

static const char *
ins_name(uint8_t cla, uint8_t ins)
{
	if (cla == 0xff)
		return ins == 0xca ? "GET DATA (UID)" : "reader command";
	switch (ins) {
	case 0xa4:
		return "SELECT";
	case 0xe0:
		return "CREATE FILE";
	case 0xe4:
		return "DELETE FILE";
	case 0xd6:
		return "UPDATE BINARY";
	case 0xb0:
		return "READ BINARY";
	case 0xc0:
		return "GET RESPONSE";
	}
	return "?";
}

static void
process(const uint8_t *b, size_t n, Reply *r)
{
	Apdu a;
	r->len = 0;
	r->modified = r->torn = r->mute = FALSE;
	chip.apdus++;
	read_control();
	if (strikes(F_MUTE)) {
		r->mute = TRUE;
		return;
	}
	if (strikes(F_FAIL)) {
		sw(r, chip.fault[F_FAIL].sw);
		return;
	}
	if (parse_apdu(b, n, &a) < 0) {
		sw(r, 0x6700);
		return;
	}
	if (a.ins != 0xc0) {
		g_clear_pointer(&chip.pending, g_free);
		chip.pending_len = 0;
	}
	if (a.cla == 0xff) {
		if (a.ins != 0xca) {
			sw(r, 0x6d00);
		} else if (a.p1 != 0x00 || a.p2 != 0x00) {
			sw(r, 0x6a81);
		} else if (a.le >= 0 && a.le < 256 && (size_t)a.le < chip.uid_len) {
			sw(r, (uint16_t)(0x6c00 | chip.uid_len));
		} else {
			put(r, chip.uid, chip.uid_len);
			sw(r, 0x9000);
		}
		return;
	}
	if ((a.cla & 0x03) != 0) {
		sw(r, 0x6881);
		return;
	}
	if ((a.cla & ~0x80) != 0x00) {
		sw(r, 0x6e00);
		return;
	}
	switch (a.ins) {
	case 0xa4:
		do_select(&a, r);
		break;
	case 0xe0:
		do_create(&a, r);
		break;
	case 0xe4:
		do_delete(&a, r);
		break;
	case 0xd6:
		do_update(&a, r);
		break;
	case 0xb0:
		do_read(&a, r);
		break;
	case 0xc0:
		do_get_response(&a, r);
		break;
	default:
		sw(r, 0x6d00);
		break;
	}
}

/* ---- vpcd ---- */

typedef enum { END_EOF, END_STOP, END_TORN } End;

static void
quickack(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* Reads N bytes; 0, or -1 on EOF, error or stop. */
static int
read_all(int fd, uint8_t *b, size_t n)
{
	while (n > 0) {
		quickack(fd);
		ssize_t got = recv(fd, b, n, 0);
		if (got < 0 && errno == EINTR && !stop)
			continue;
		if (got <= 0)
			return -1;
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Sends one frame in one write: a split one would meet Nagle on vpcd's side. */
static int
send_frame(int fd, const uint8_t *b, size_t n)
{
	static uint8_t out[2 + FRAME_MAX];
	out[0] = (uint8_t)(n >> 8);
	out[1] = (uint8_t)(n & 0xff);
	memcpy(out + 2, b, n);
	size_t left = n + 2, at = 0;
	while (left > 0) {
		ssize_t w = send(fd, out + at, left, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		at += (size_t)w;
		left -= (size_t)w;
	}
	return 0;
}

static int
connect_vpcd(const char *host, int port, double wait_s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "vchip: not an IPv4 address: %s\n", host);
		return -1;
	}
	gint64 end = g_get_monotonic_time() + (gint64)(wait_s * G_USEC_PER_SEC);
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			return fd;
		}
		int err = errno;
		close(fd);
		if (stop || g_get_monotonic_time() >= end) {
			fprintf(stderr, "vchip: cannot connect to vpcd at %s:%d: %s\n", host, port,
				strerror(err));
			return -1;
		}
		g_usleep(50 * 1000);
	}
}

static End
serve(int fd)
{
	static uint8_t in[FRAME_MAX];
	static Reply r;
	for (;;) {
		uint8_t hdr[2];
		if (read_all(fd, hdr, 2) < 0)
			return stop ? END_STOP : END_EOF;
		size_t n = (size_t)(hdr[0] << 8 | hdr[1]);
		if (read_all(fd, in, n) < 0)
			return stop ? END_STOP : END_EOF;
		if (n == 1) {
			switch (in[0]) {
			case 0:
			case 1:
			case 2:
				logv(2, "power %s",
				     in[0] == 0   ? "off"
				     : in[0] == 1 ? "on"
						  : "reset");
				reset_selection();
				break;
			case 4:
				if (send_frame(fd, chip.atr, chip.atr_len) < 0)
					return END_EOF;
				break;
			default:
				logv(1, "unknown control byte %02X", in[0]);
			}
			continue;
		}
		dump(">>", in, n);
		process(in, n, &r);
		if (r.modified)
			save_state();
		if (n >= 4) {
			uint16_t word =
				r.len >= 2 ? (uint16_t)(r.b[r.len - 2] << 8 | r.b[r.len - 1]) : 0;
			uint16_t fid = chip.cur_ef ? chip.cur_ef->fid : 0;
			if (r.mute || r.torn)
				logv(1, "#%lu %s P1P2 %02X%02X Lc %zu -> %s", chip.apdus,
				     ins_name(in[0], in[1]), in[2], in[3],
				     n > 5 ? (size_t)in[4] : 0,
				     r.mute ? "no answer (mute)" : "torn");
			else
				logv(1, "#%lu %s P1P2 %02X%02X EF %04X -> %04X (%zu bytes)",
				     chip.apdus, ins_name(in[0], in[1]), in[2], in[3], fid, word,
				     r.len - 2);
		}
		if (r.torn)
			return END_TORN;
		if (r.mute) {
			logv(0, "fault: mute: APDU #%lu gets no answer; silent until stopped",
			     chip.apdus);
			while (!stop)
				poll(NULL, 0, 100);
			return END_STOP;
		}
		dump("<<", r.b, r.len);
		if (send_frame(fd, r.b, r.len) < 0)
			return END_EOF;
	}
}

int
main(int argc, char **argv)
{
	int port = 35963, wait_s = 5, reconnect_s = 0;
	char *host = NULL, *uid = NULL, *atr = NULL;
	gint64 capacity = 65536, max_response = 0;
	chip.files = g_ptr_array_new();
	for (int f = 0; f < F_COUNT; f++)
		chip.fault[f].left = -1;
	GOptionEntry entries[] = {
		{ "port", 'p', 0, G_OPTION_ARG_INT, &port, "vpcd's port (35963)", "P" },
		{ "host", 'H', 0, G_OPTION_ARG_STRING, &host, "vpcd's address (127.0.0.1)",
		  "ADDR" },
		{ "state", 's', 0, G_OPTION_ARG_FILENAME, &chip.state_path,
		  "keep the chip's files in FILE", "FILE" },
		{ "uid", 'u', 0, G_OPTION_ARG_STRING, &uid, "UID for FF CA (04A1B2C3D4E5F6)",
		  "HEX" },
		{ "atr", 'a', 0, G_OPTION_ARG_STRING, &atr, "the ATR", "HEX" },
		{ "capacity", 'C', 0, G_OPTION_ARG_INT64, &capacity,
		  "bytes of EF data the chip holds (65536)", "BYTES" },
		{ "max-response", 'm', 0, G_OPTION_ARG_INT64, &max_response,
		  "longer answers come in parts through GET RESPONSE (0: never)", "N" },
		{ "wait", 'w', 0, G_OPTION_ARG_INT, &wait_s, "keep trying to connect (5 s)", "S" },
		{ "reconnect", 'R', 0, G_OPTION_ARG_INT, &reconnect_s,
		  "when vpcd drops the connection, connect again for up to S seconds (0: exit)",
		  "S" },
		{ "control", 'c', 0, G_OPTION_ARG_FILENAME, &chip.control_path,
		  "read fault commands from FILE before each APDU", "FILE" },
		{ "mute", 0, 0, G_OPTION_ARG_CALLBACK, arm_option, "no answer to the Nth APDU",
		  "N" },
		{ "mute-write", 0, 0, G_OPTION_ARG_CALLBACK, arm_option,
		  "no answer to the Nth UPDATE BINARY", "N" },
		{ "fail", 0, 0, G_OPTION_ARG_CALLBACK, arm_option, "Nth APDU answers SW (6F00)",
		  "N[:SW]" },
		{ "fail-write", 0, 0, G_OPTION_ARG_CALLBACK, arm_option,
		  "Nth UPDATE BINARY answers SW (6581)", "N[:SW]" },
		{ "tear", 0, 0, G_OPTION_ARG_CALLBACK, arm_option,
		  "pull the card after N more bytes written", "N" },
		{ NULL },
	};
	/* -v (log APDUs) and -vv (and hex dumps) count, which GOption cannot: taken out first. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-vv") == 0) {
			chip.verbose += (int)strlen(argv[i]) - 1;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof *argv);
			argc--;
			i--;
		}
	}
	GOptionContext *ctx = g_option_context_new("- a virtual ISO 7816-4 chip for vpcd");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *e = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &e)) {
		fprintf(stderr, "vchip: %s\n", e->message);
		return 2;
	}
	g_option_context_free(ctx);
	if (argc > 1) {
		fprintf(stderr, "vchip: unexpected argument %s\n", argv[1]);
		return 2;
	}
	chip.capacity = (long)capacity;
	chip.max_response = (long)max_response;
	if (parse_hex(uid ? uid : "04A1B2C3D4E5F6", chip.uid, sizeof chip.uid, &chip.uid_len) < 0 ||
	    chip.uid_len == 0) {
		fprintf(stderr, "vchip: bad --uid\n");
		return 2;
	}
	if (atr) {
		if (parse_hex(atr, chip.atr, sizeof chip.atr, &chip.atr_len) < 0 ||
		    chip.atr_len < 2) {
			fprintf(stderr, "vchip: bad --atr\n");
			return 2;
		}
	} else {
		/* PC/SC's contactless form: T=0 then T=1 indicated, historical bytes, TCK. */
		static const char hist[] = "ektp-vchip";
		const uint8_t head[] = { 0x3b, 0x80 | (sizeof hist - 1), 0x80, 0x01 };
		memcpy(chip.atr, head, sizeof head);
		memcpy(chip.atr + sizeof head, hist, sizeof hist - 1);
		chip.atr_len = sizeof head + sizeof hist - 1;
		uint8_t tck = 0;
		for (size_t i = 1; i < chip.atr_len; i++)
			tck ^= chip.atr[i];
		chip.atr[chip.atr_len++] = tck;
	}
	if (load_state() < 0)
		return 1;

	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: recv returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	const char *addr = host ? host : "127.0.0.1";
	double wait = wait_s;
	for (;;) {
		int fd = connect_vpcd(addr, port, wait);
		if (fd < 0)
			return stop ? 0 : 1;
		logv(1, "connected to vpcd at %s:%d", addr, port);
		End end = serve(fd);
		close(fd);
		if (end == END_TORN)
			return 3;
		if (end == END_STOP || stop) {
			logv(1, "stopped");
			return 0;
		}
		logv(1, "vpcd closed the connection");
		if (reconnect_s <= 0)
			return 0;
		reset_selection();
		wait = reconnect_s;
	}
}
