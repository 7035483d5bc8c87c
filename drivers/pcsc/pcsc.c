/* SPDX-License-Identifier: MIT */
/*
 * The PC/SC encoder driver: writes a chip image to the card in a pcsc-lite
 * reader and reads it back.  The reader is chosen by name (option "reader":
 * the reader named exactly so, else the only one whose name contains it),
 * never "the first reader": a test machine with vsmartcard installed has two
 * virtual readers, and a production PC may have a PIN pad besides its
 * encoder.
 *
 * Commands (ISO 7816-4, short APDUs only, CLA 00), the set tests/emu/vchip.c
 * answers:
 *   SELECT DF by name      00 A4 04 0C Lc AID
 *   SELECT MF              00 A4 00 0C 02 3F00             (before creating the DF)
 *   CREATE FILE (DF)       00 E0 00 00 Lc 62 L 82 01 38 84 n AID
 *   SELECT EF, with FCP    00 A4 02 04 02 FID 00           (size of an existing EF: tag 80)
 *   SELECT EF              00 A4 02 0C 02 FID
 *   DELETE FILE (EF)       00 E4 02 00 02 FID              (an EF of the wrong size)
 *   CREATE FILE (EF)       00 E0 00 00 0D 62 0B 80 02 SIZE 82 01 01 83 02 FID
 *   UPDATE BINARY          00 D6 OFF_HI OFF_LO Lc DATA     (case 3: no Le)
 *   READ BINARY            00 B0 OFF_HI OFF_LO Le
 *   GET RESPONSE           00 C0 00 00 Le                  (after 61xx; 6Cxx resends)
 *   GET UID (PC/SC 2.01)   FF CA 00 00 00                  (status: the card's serial)
 * With create_files = false (a chip personalised beforehand, which most
 * production chips are) only the SELECTs, UPDATE and READ BINARY are sent, and
 * a file that does not fit is the chip's to refuse (6A84).
 *
 * An encode: connect (exclusive), select the application (creating it when
 * absent), then for each file make sure an EF of exactly its size exists
 * (kept when it has that size, deleted and created again otherwise) and
 * write it in chunks of "chunk" bytes; then select the application afresh
 * and read every file back, comparing.  It succeeds only when all of it reads
 * back equal.
 *
 * Errors.  A status word other than 9000 is HAL_ERROR_DEVICE naming the
 * command, the file, the offset and the word with its meaning.  No card, or
 * one removed (SCARD_E_NO_SMARTCARD, SCARD_W_REMOVED_CARD) is
 * HAL_ERROR_ABSENT "no card in the station".  A card that stops answering
 * mid-command (SCARD_E_NOT_TRANSACTED, or through vpcd an answer without a
 * status word: torn away, or dead) is HAL_ERROR_DEVICE: the encode failed and
 * the chip may be half written, but the reader is there.  pcscd gone (SCARD_E_NO_SERVICE, SERVICE_STOPPED,
 * INVALID_HANDLE, F_COMM_ERROR: pcscd was restarted, or stopped) makes the
 * driver establish a new context once and start the encode again from the
 * beginning (it rewrites what it had written); when that fails too the error
 * is HAL_ERROR_ABSENT.  (pcsc-lite's SCardIsValidContext keeps saying yes to a
 * context whose pcscd has gone, so the driver goes by the return codes.)
 *
 * Status.  READY whether or not a card is in the station (an empty station
 * is the encoder's normal idle state; a reason for it would add two audit
 * rows per card); with a card, the serial is its UID (FF CA, read once per
 * insertion); the firmware field names the reader.  DEGRADED "chip-mute" when
 * pcscd finds a card that does not answer its reset; FAULT
 * "chip-not-answering" while a call is stuck (below).  Without pcscd or the
 * reader, status fails HAL_ERROR_ABSENT and the manager opens it again later.
 *
 * Threading.  PC/SC calls block, and one that waits for a mute chip blocks
 * for good: neither pcsc-lite nor vpcd has a timeout, and SCardCancel only
 * ends SCardGetStatusChange.  So every PC/SC call runs on a thread of the
 * device's own (the I/O thread), which owns the context and the card handle,
 * while the manager's worker waits for it at most apdu_timeout ms, watching
 * the GCancellable.  A call that outlives that is left to finish on the I/O
 * thread: the method returns HAL_ERROR_TIMEOUT (or CANCELLED) at once, the
 * status shows FAULT "chip-not-answering" and new operations are refused
 * until the call returns, which it does when the card is taken out.
 */
#include "drivers/pcsc/pcsc.h"

#include <PCSC/winscard.h>
#include <string.h>

/* ---- pure helpers ---- */

static int
apdu_set(PcscApdu *a, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
	 size_t len, int le)
{
	if (len > PCSC_CHUNK_MAX || le > 256)
		return -1;
	size_t n = 0;
	a->b[n++] = cla;
	a->b[n++] = ins;
	a->b[n++] = p1;
	a->b[n++] = p2;
	if (len > 0) {
		a->b[n++] = (uint8_t)len;
		memcpy(a->b + n, data, len);
		n += len;
	}
	if (le >= 0)
		a->b[n++] = (uint8_t)(le & 0xff); /* 256 is written 00 */
	a->len = n;
	return 0;
}

int
pcsc_apdu_select_mf(PcscApdu *a)
{
	static const uint8_t mf[] = { 0x3f, 0x00 };
	return apdu_set(a, 0x00, 0xa4, 0x00, 0x0c, mf, sizeof mf, -1);
}

int
pcsc_apdu_select_aid(PcscApdu *a, const uint8_t *aid, size_t aid_len)
{
	if (aid_len < 1 || aid_len > 16)
		return -1;
	return apdu_set(a, 0x00, 0xa4, 0x04, 0x0c, aid, aid_len, -1);
}

int
pcsc_apdu_select_ef(PcscApdu *a, uint16_t fid, gboolean want_fcp)
{
	const uint8_t f[] = { fid >> 8, fid & 0xff };
	return apdu_set(a, 0x00, 0xa4, 0x02, want_fcp ? 0x04 : 0x0c, f, sizeof f,
			want_fcp ? 256 : -1);
}

int
pcsc_apdu_create_df(PcscApdu *a, const uint8_t *aid, size_t aid_len)
{
	if (aid_len < 1 || aid_len > 16)
		return -1;
	uint8_t fcp[2 + 3 + 2 + 16];
	size_t n = 0;
	fcp[n++] = 0x62;
	fcp[n++] = (uint8_t)(3 + 2 + aid_len);
	fcp[n++] = 0x82; /* file descriptor: DF */
	fcp[n++] = 0x01;
	fcp[n++] = 0x38;
	fcp[n++] = 0x84; /* DF name */
	fcp[n++] = (uint8_t)aid_len;
	memcpy(fcp + n, aid, aid_len);
	n += aid_len;
	return apdu_set(a, 0x00, 0xe0, 0x00, 0x00, fcp, n, -1);
}

int
pcsc_apdu_create_ef(PcscApdu *a, uint16_t fid, size_t size)
{
	if (size > 0xffff)
		return -1;
	/* clang-format off */
	const uint8_t fcp[] = {
		0x62, 0x0b,
		0x80, 0x02, (uint8_t)(size >> 8), (uint8_t)(size & 0xff), /* data bytes */
		0x82, 0x01, 0x01,				    /* transparent EF */
		0x83, 0x02, (uint8_t)(fid >> 8), (uint8_t)(fid & 0xff),    /* file id */
	};
	/* clang-format on */
	return apdu_set(a, 0x00, 0xe0, 0x00, 0x00, fcp, sizeof fcp, -1);
}

int
pcsc_apdu_delete_ef(PcscApdu *a, uint16_t fid)
{
	const uint8_t f[] = { fid >> 8, fid & 0xff };
	return apdu_set(a, 0x00, 0xe4, 0x02, 0x00, f, sizeof f, -1);
}

int
pcsc_apdu_update_binary(PcscApdu *a, size_t offset, const uint8_t *data, size_t len)
{
	if (offset > PCSC_OFFSET_MAX || len < 1 || len > PCSC_CHUNK_MAX)
		return -1;
	return apdu_set(a, 0x00, 0xd6, (uint8_t)(offset >> 8), (uint8_t)(offset & 0xff), data, len,
			-1);
}

int
pcsc_apdu_read_binary(PcscApdu *a, size_t offset, size_t le)
{
	if (offset > PCSC_OFFSET_MAX || le < 1 || le > 256)
		return -1;
	return apdu_set(a, 0x00, 0xb0, (uint8_t)(offset >> 8), (uint8_t)(offset & 0xff), NULL, 0,
			(int)le);
}

int
pcsc_apdu_get_response(PcscApdu *a, size_t le)
{
	if (le < 1 || le > 256)
		return -1;
	return apdu_set(a, 0x00, 0xc0, 0x00, 0x00, NULL, 0, (int)le);
}

int
pcsc_apdu_get_uid(PcscApdu *a)
{
	return apdu_set(a, 0xff, 0xca, 0x00, 0x00, NULL, 0, 256);
}

const char *
pcsc_sw_meaning(uint16_t sw)
{
	static const struct {
		uint16_t sw;
		const char *text;
	} exact[] = {
		{ 0x9000, "success" },
		{ 0x6200, "warning: no information given, memory unchanged" },
		{ 0x6281, "warning: part of the returned data may be corrupted" },
		{ 0x6282, "warning: end of file reached before reading Le bytes" },
		{ 0x6283, "warning: selected file deactivated" },
		{ 0x6284, "warning: file control information not formatted" },
		{ 0x6300, "warning: no information given, memory changed" },
		{ 0x6381, "warning: file filled up by the last write" },
		{ 0x6400, "execution error, memory unchanged" },
		{ 0x6500, "execution error, memory changed" },
		{ 0x6581, "memory failure" },
		{ 0x6700, "wrong length" },
		{ 0x6881, "logical channel not supported" },
		{ 0x6882, "secure messaging not supported" },
		{ 0x6900, "command not allowed" },
		{ 0x6981, "command incompatible with file structure" },
		{ 0x6982, "security status not satisfied" },
		{ 0x6983, "authentication method blocked" },
		{ 0x6984, "reference data not usable" },
		{ 0x6985, "conditions of use not satisfied" },
		{ 0x6986, "command not allowed (no current EF)" },
		{ 0x6987, "expected secure messaging data objects missing" },
		{ 0x6988, "incorrect secure messaging data objects" },
		{ 0x6a00, "wrong parameters P1-P2" },
		{ 0x6a80, "incorrect parameters in the data field" },
		{ 0x6a81, "function not supported" },
		{ 0x6a82, "file or application not found" },
		{ 0x6a83, "record not found" },
		{ 0x6a84, "not enough memory space in the file" },
		{ 0x6a85, "Nc inconsistent with TLV structure" },
		{ 0x6a86, "incorrect parameters P1-P2" },
		{ 0x6a87, "Nc inconsistent with parameters P1-P2" },
		{ 0x6a88, "referenced data not found" },
		{ 0x6a89, "file already exists" },
		{ 0x6a8a, "DF name already exists" },
		{ 0x6b00, "wrong parameters P1-P2 (offset outside the EF)" },
		{ 0x6d00, "instruction code not supported or invalid" },
		{ 0x6e00, "class not supported" },
		{ 0x6f00, "no precise diagnosis" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(exact); i++)
		if (exact[i].sw == sw)
			return exact[i].text;
	switch (sw >> 8) {
	case 0x61:
		return "more response bytes available (GET RESPONSE)";
	case 0x63:
		if ((sw & 0xf0) == 0xc0)
			return "warning: counter value in the low nibble";
		return "warning: memory changed";
	case 0x6c:
		return "wrong Le field (SW2 gives the exact length)";
	case 0x62:
		return "warning: memory unchanged";
	case 0x64:
		return "execution error, memory unchanged";
	case 0x65:
		return "execution error, memory changed";
	case 0x66:
		return "security-related issue";
	case 0x68:
		return "functions in CLA not supported";
	case 0x69:
		return "command not allowed";
	case 0x6a:
		return "wrong parameters";
	}
	return "unknown status";
}

PcscSwAction
pcsc_sw_action(uint16_t sw, size_t *le)
{
	size_t n = (sw & 0xff) ? (sw & 0xff) : 256;
	switch (sw >> 8) {
	case 0x61:
		*le = n;
		return PCSC_SW_GET_RESPONSE;
	case 0x6c:
		*le = n;
		return PCSC_SW_RESEND;
	}
	return PCSC_SW_DONE;
}

int
pcsc_fcp_size(const uint8_t *fcp, size_t len, size_t *size)
{
	if (len < 2 || (fcp[0] != 0x62 && fcp[0] != 0x6f))
		return -1;
	size_t end = MIN(len, 2 + (size_t)fcp[1]);
	gboolean have81 = FALSE;
	size_t size81 = 0;
	for (size_t i = 2; i + 2 <= end;) {
		uint8_t tag = fcp[i], l = fcp[i + 1];
		if (i + 2 + l > end)
			return -1;
		if ((tag == 0x80 || tag == 0x81) && l >= 1 && l <= 4) {
			size_t v = 0;
			for (size_t k = 0; k < l; k++)
				v = v << 8 | fcp[i + 2 + k];
			if (tag == 0x80) {
				*size = v;
				return 0;
			}
			have81 = TRUE;
			size81 = v;
		}
		i += 2 + l;
	}
	if (!have81)
		return -1;
	*size = size81;
	return 0;
}

size_t
pcsc_chunk_len(size_t len, size_t offset, size_t chunk)
{
	if (chunk == 0 || offset >= len)
		return 0;
	return MIN(chunk, len - offset);
}

size_t
pcsc_chunk_count(size_t len, size_t chunk)
{
	return chunk == 0 ? 0 : (len + chunk - 1) / chunk;
}

int
pcsc_chip_check(const HalChip *chip, GError **error)
{
	if (!chip || chip->aid_len < 1 || chip->aid_len > 16 || !chip->aid) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "the chip's application id must have 1 to 16 bytes (has %zu)",
			    chip ? chip->aid_len : 0);
		return -1;
	}
	for (size_t i = 0; i < chip->n_files; i++) {
		const HalChipFile *f = &chip->files[i];
		if (f->fid == 0x3f00 || f->fid == 0x3fff || f->fid == 0xffff) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "EF %04X: a reserved file id", f->fid);
			return -1;
		}
		if (f->len > PCSC_FILE_MAX || (f->len > 0 && !f->data)) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "EF %04X: %zu bytes (at most %d fit short-APDU offsets)",
				    f->fid, f->len, PCSC_FILE_MAX);
			return -1;
		}
		for (size_t k = 0; k < i; k++) {
			if (chip->files[k].fid == f->fid) {
				g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
					    "EF %04X appears twice in the chip image", f->fid);
				return -1;
			}
		}
	}
	return 0;
}

PcscRvKind
pcsc_rv_kind(long rv)
{
	switch (rv) {
	case SCARD_S_SUCCESS:
		return PCSC_RV_OK;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_REMOVED_CARD:
		return PCSC_RV_NO_CARD;
	case SCARD_E_NOT_TRANSACTED:
	case SCARD_E_COMM_DATA_LOST:
	case SCARD_W_UNRESPONSIVE_CARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_W_RESET_CARD:
		return PCSC_RV_CARD_LOST;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
	case SCARD_E_INVALID_HANDLE:
	case SCARD_F_COMM_ERROR:
		return PCSC_RV_SERVICE;
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
	case SCARD_E_NO_READERS_AVAILABLE:
		return PCSC_RV_READER_GONE;
	case SCARD_E_SHARING_VIOLATION:
		return PCSC_RV_SHARING;
	}
	return PCSC_RV_OTHER;
}

const char *
pcsc_rv_name(long rv)
{
	/* clang-format off */
#define RV(x) { x, #x }
	static const struct {
		long rv;
		const char *name;
	} names[] = {
		RV(SCARD_S_SUCCESS),	      RV(SCARD_E_CANCELLED),
		RV(SCARD_E_INVALID_HANDLE),   RV(SCARD_E_INVALID_PARAMETER),
		RV(SCARD_E_NO_MEMORY),	      RV(SCARD_E_INSUFFICIENT_BUFFER),
		RV(SCARD_E_UNKNOWN_READER),   RV(SCARD_E_TIMEOUT),
		RV(SCARD_E_SHARING_VIOLATION), RV(SCARD_E_NO_SMARTCARD),
		RV(SCARD_E_PROTO_MISMATCH),   RV(SCARD_E_NOT_READY),
		RV(SCARD_E_INVALID_VALUE),    RV(SCARD_F_COMM_ERROR),
		RV(SCARD_F_INTERNAL_ERROR),   RV(SCARD_F_UNKNOWN_ERROR),
		RV(SCARD_E_NOT_TRANSACTED),   RV(SCARD_E_READER_UNAVAILABLE),
		RV(SCARD_E_NO_SERVICE),	      RV(SCARD_E_SERVICE_STOPPED),
		RV(SCARD_E_UNSUPPORTED_FEATURE), RV(SCARD_E_NO_READERS_AVAILABLE),
		RV(SCARD_E_COMM_DATA_LOST),   RV(SCARD_W_UNSUPPORTED_CARD),
		RV(SCARD_W_UNRESPONSIVE_CARD), RV(SCARD_W_UNPOWERED_CARD),
		RV(SCARD_W_RESET_CARD),	      RV(SCARD_W_REMOVED_CARD),
	};
#undef RV
	/* clang-format on */
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (names[i].rv == rv)
			return names[i].name;
	return "SCARD_?";
}

const char *
pcsc_pick_reader(const char *readers, size_t readers_len, const char *want, int *matches)
{
	const char *only = NULL;
	*matches = 0;
	for (size_t i = 0; readers && i < readers_len && readers[i];) {
		const char *r = readers + i;
		size_t n = strnlen(r, readers_len - i);
		if (strcmp(r, want) == 0) {
			*matches = 1;
			return r;
		}
		if (*want && strstr(r, want)) {
			only = r;
			(*matches)++;
		}
		i += n + 1;
	}
	return *matches == 1 ? only : NULL;
}

/* ---- the I/O thread ---- */

typedef enum {
	IO_ESTABLISH, /* a new context (any old one and its card handle released) */
	IO_LIST,      /* the reader names */
	IO_STATE,     /* SCardGetStatusChange, timeout 0, of READER */
	IO_CONNECT,   /* READER, sharing SHARE, protocols PROTOCOLS */
	IO_TRANSMIT,  /* SEND to the connected card */
	IO_DISCONNECT,
	IO_QUIT,
} IoKind;

/* What the I/O thread owns: the context and the card handle.  Shared by the
 * driver and the thread (refs), so a driver that closes while a call is stuck
 * leaves the thread to finish it and clean up. */
typedef struct {
	gint refs;
	GAsyncQueue *queue; /* IoCall* */
	/* I/O thread only: */
	SCARDCONTEXT ctx;
	gboolean have_ctx;
	SCARDHANDLE card;
	gboolean have_card;
	DWORD proto;
} Io;

/* One call handed to the I/O thread.  The waiting side and the thread each
 * hold a reference, so a waiter that gave up leaves the call to the thread. */
typedef struct {
	gint refs;
	GMutex lock;
	GCond cond;
	gboolean done;
	IoKind kind;
	char *what; /* the command, for messages (owned) */
	gint64 started;
	/* Inputs. */
	char *reader; /* owned */
	DWORD share, protocols;
	uint8_t send[PCSC_APDU_MAX];
	DWORD send_len;
	/* Outputs. */
	LONG rv;
	uint8_t recv[256 + 2];
	DWORD recv_len;
	char *readers; /* IO_LIST: pcsc-lite's multi-string (owned) */
	DWORD readers_len;
	DWORD event_state; /* IO_STATE */
} IoCall;

static void
io_unref(Io *io)
{
	if (!g_atomic_int_dec_and_test(&io->refs))
		return;
	g_async_queue_unref(io->queue);
	g_free(io);
}

static void
call_unref(IoCall *c)
{
	if (!g_atomic_int_dec_and_test(&c->refs))
		return;
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c->what);
	g_free(c->reader);
	g_free(c->readers);
	g_free(c);
}

static IoCall *
call_new(IoKind kind, const char *what)
{
	IoCall *c = g_new0(IoCall, 1);
	c->refs = 1;
	c->kind = kind;
	c->what = g_strdup(what);
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	return c;
}

static void
io_drop_card(Io *io)
{
	if (io->have_card)
		SCardDisconnect(io->card, SCARD_LEAVE_CARD);
	io->have_card = FALSE;
}

static void
io_exec(Io *io, IoCall *c)
{
	if (c->kind != IO_ESTABLISH && !io->have_ctx) {
		c->rv = SCARD_E_NO_SERVICE;
		return;
	}
	switch (c->kind) {
	case IO_ESTABLISH:
		io_drop_card(io);
		if (io->have_ctx)
			SCardReleaseContext(io->ctx);
		c->rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &io->ctx);
		io->have_ctx = c->rv == SCARD_S_SUCCESS;
		break;
	case IO_LIST: {
		/* One call: the list may change between a sizing call and a second one. */
		LPSTR list = NULL;
		DWORD len = SCARD_AUTOALLOCATE;
		c->rv = SCardListReaders(io->ctx, NULL, (LPSTR)&list, &len);
		if (c->rv != SCARD_S_SUCCESS)
			break;
		c->readers = g_malloc0(len + 1);
		memcpy(c->readers, list, len);
		c->readers_len = len;
		SCardFreeMemory(io->ctx, list);
		break;
	}
	case IO_STATE: {
		SCARD_READERSTATE rs = { .szReader = c->reader,
					 .dwCurrentState = SCARD_STATE_UNAWARE };
		c->rv = SCardGetStatusChange(io->ctx, 0, &rs, 1);
		c->event_state = rs.dwEventState;
		break;
	}
	case IO_CONNECT:
		io_drop_card(io);
		c->rv = SCardConnect(io->ctx, c->reader, c->share, c->protocols, &io->card,
				     &io->proto);
		io->have_card = c->rv == SCARD_S_SUCCESS;
		break;
	case IO_TRANSMIT: {
		if (!io->have_card) {
			c->rv = SCARD_E_INVALID_HANDLE;
			break;
		}
		const SCARD_IO_REQUEST *pci = io->proto == SCARD_PROTOCOL_T0   ? SCARD_PCI_T0
					      : io->proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1
									       : SCARD_PCI_RAW;
		c->recv_len = sizeof c->recv;
		c->rv = SCardTransmit(io->card, pci, c->send, c->send_len, NULL, c->recv,
				      &c->recv_len);
		break;
	}
	case IO_DISCONNECT:
		c->rv = io->have_card ? SCardDisconnect(io->card, SCARD_LEAVE_CARD)
				      : SCARD_S_SUCCESS;
		io->have_card = FALSE;
		break;
	case IO_QUIT:
		break;
	}
}

static gpointer
io_thread(gpointer data)
{
	Io *io = data;
	for (;;) {
		IoCall *c = g_async_queue_pop(io->queue);
		gboolean quit = c->kind == IO_QUIT;
		io_exec(io, c);
		g_mutex_lock(&c->lock);
		c->done = TRUE;
		g_cond_signal(&c->cond);
		g_mutex_unlock(&c->lock);
		call_unref(c);
		if (quit)
			break;
	}
	io_drop_card(io);
	if (io->have_ctx)
		SCardReleaseContext(io->ctx);
	io->have_ctx = FALSE;
	io_unref(io);
	return NULL;
}

/* ---- the device ---- */

typedef struct {
	Io *io;
	IoCall *stuck;     /* a call the worker stopped waiting for; NULL when none */
	char *reader;      /* the reader's full name, once found */
	gboolean have_ctx; /* an IO_ESTABLISH succeeded and no service error came since */
	/* The card last seen by status: its UID is read once per insertion. */
	DWORD card_event; /* the reader's event counter when it was read */
	char uid[64];
} Pcsc;

static const HalOption options[] = {
	{ "reader", HAL_OPT_STRING, NULL, 0, 0,
	  "the reader: its full PC/SC name, or a part of it that only this reader's name "
	  "contains (pcsc_scan -r lists them)" },
	{ "chunk", HAL_OPT_INT, "240", 1, PCSC_CHUNK_MAX,
	  "bytes per UPDATE BINARY and READ BINARY (short APDUs; some chips take less)" },
	{ "apdu_timeout", HAL_OPT_INT, "3000", 100, 600000,
	  "longest wait for one PC/SC call (one APDU), ms; keep it below the device's timeout" },
	{ "create_files", HAL_OPT_BOOL, "true", 0, 0,
	  "create the application and its files as needed (false: a personalised chip whose "
	  "files exist already: only write and read them)" },
	{ "protocol", HAL_OPT_STRING, "any", 0, 0, "transmission protocol: any, t0 or t1" },
	{ NULL },
};

static int
pcsc_check_option(const char *name, const char *value, GError **error)
{
	if (strcmp(name, "protocol") == 0 && strcmp(value, "any") && strcmp(value, "t0") &&
	    strcmp(value, "t1")) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG, "'%s' is not any, t0 or t1", value);
		return -1;
	}
	if (strcmp(name, "reader") == 0 && !*value) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG, "must name a reader");
		return -1;
	}
	return 0;
}

/* One driver method's run: what the steps below share. */
typedef struct {
	HalDevice *dev;
	Pcsc *p;
	GCancellable *cancel;
	const char *name; /* the device's */
	gint64 timeout_ms;
	gboolean service_lost; /* a PC/SC call said pcscd has gone */
	gboolean connected;
	unsigned apdus;
} Job;

static void
pcsc_free(Pcsc *p)
{
	if (!p)
		return;
	if (p->stuck)
		call_unref(p->stuck); /* the I/O thread holds it until it returns */
	g_async_queue_push(p->io->queue, call_new(IO_QUIT, "quit"));
	io_unref(p->io);
	g_free(p->reader);
	g_free(p);
}

static Pcsc *
pcsc_new(void)
{
	Pcsc *p = g_new0(Pcsc, 1);
	p->io = g_new0(Io, 1);
	p->io->refs = 2; /* the driver's and the thread's */
	p->io->queue = g_async_queue_new();
	g_thread_unref(g_thread_new("pcsc-io", io_thread, p->io));
	return p;
}

/* Whether a call the worker gave up on is still running; forgets it when not
 * (the next connect drops whatever card handle it left). */
static gboolean
still_stuck(Job *j)
{
	Pcsc *p = j->p;
	if (!p->stuck)
		return FALSE;
	g_mutex_lock(&p->stuck->lock);
	gboolean done = p->stuck->done;
	g_mutex_unlock(&p->stuck->lock);
	if (!done)
		return TRUE;
	g_message("%s: %s, which did not answer in time, returned at last: %s", j->name,
		  p->stuck->what, pcsc_rv_name(p->stuck->rv));
	call_unref(p->stuck);
	p->stuck = NULL;
	return FALSE;
}

static void
set_stuck_error(Job *j, GError **error)
{
	IoCall *s = j->p->stuck;
	g_set_error(error, HAL_ERROR, HAL_ERROR_BUSY,
		    "%s: the reader still waits for the chip's answer to %s (for %" G_GINT64_FORMAT
		    " s); take the card out of the station",
		    j->name, s->what, (g_get_monotonic_time() - s->started) / G_USEC_PER_SEC);
}

/* Runs C (taken) on the I/O thread and waits for it at most the APDU timeout,
 * watching the cancellable.  0 with C's results; -1 with ERROR set when it did
 * not come back (C then stays with the I/O thread, remembered as stuck). */
static int
io_call(Job *j, IoCall *c, GError **error)
{
	Pcsc *p = j->p;
	if (still_stuck(j)) {
		call_unref(c);
		set_stuck_error(j, error);
		return -1;
	}
	c->refs = 2;
	c->started = g_get_monotonic_time();
	g_async_queue_push(p->io->queue, c);
	gint64 deadline = c->started + j->timeout_ms * G_TIME_SPAN_MILLISECOND;
	gboolean done, cancelled = FALSE;
	g_mutex_lock(&c->lock);
	for (;;) {
		done = c->done;
		if (done)
			break;
		cancelled = g_cancellable_is_cancelled(j->cancel);
		gint64 now = g_get_monotonic_time();
		if (cancelled || now >= deadline)
			break;
		/* Wake now and then to look at the cancellable. */
		g_cond_wait_until(&c->cond, &c->lock,
				  MIN(deadline, now + 20 * G_TIME_SPAN_MILLISECOND));
	}
	g_mutex_unlock(&c->lock);
	if (done)
		return 0;
	p->stuck = c; /* our reference goes with it */
	if (cancelled)
		g_set_error(error, HAL_ERROR, HAL_ERROR_CANCELLED, "%s: cancelled during %s",
			    j->name, c->what);
	else
		g_set_error(error, HAL_ERROR, HAL_ERROR_TIMEOUT,
			    "%s: the chip did not answer %s within %" G_GINT64_FORMAT " ms",
			    j->name, c->what, j->timeout_ms);
	g_warning("%s", (*error)->message);
	return -1;
}

/* ERROR for a PC/SC call WHAT that returned RV. */
static int
rv_error(Job *j, long rv, const char *what, GError **error)
{
	const char *rvn = pcsc_rv_name(rv);
	switch (pcsc_rv_kind(rv)) {
	case PCSC_RV_OK: /* not an error: callers check first */
	case PCSC_RV_OTHER:
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE, "%s: %s failed: %s (0x%08lX)",
			    j->name, what, rvn, (unsigned long)rv);
		break;
	case PCSC_RV_NO_CARD:
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
			    "%s: no card in the station (%s: %s)", j->name, what, rvn);
		break;
	case PCSC_RV_CARD_LOST:
		g_set_error(
			error, HAL_ERROR, HAL_ERROR_DEVICE,
			"%s: the chip stopped answering during %s (card torn away, or failed): %s",
			j->name, what, rvn);
		break;
	case PCSC_RV_SERVICE:
		j->service_lost = TRUE;
		j->p->have_ctx = FALSE;
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: pcscd is not running (%s: %s)",
			    j->name, what, rvn);
		break;
	case PCSC_RV_READER_GONE:
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
			    "%s: reader \"%s\" has gone (%s: %s)", j->name,
			    j->p->reader ? j->p->reader : "?", what, rvn);
		g_clear_pointer(&j->p->reader, g_free);
		break;
	case PCSC_RV_SHARING:
		g_set_error(error, HAL_ERROR, HAL_ERROR_BUSY,
			    "%s: another program holds the card (%s: %s)", j->name, what, rvn);
		break;
	}
	return -1;
}

/* A context that works, establishing one if needed. */
static int
ensure_context(Job *j, GError **error)
{
	if (j->p->have_ctx)
		return 0;
	IoCall *c = call_new(IO_ESTABLISH, "SCardEstablishContext");
	if (io_call(j, c, error) < 0)
		return -1;
	long rv = c->rv;
	call_unref(c);
	if (rv != SCARD_S_SUCCESS)
		return rv_error(j, rv, "SCardEstablishContext", error);
	j->p->have_ctx = TRUE;
	return 0;
}

/* Finds the configured reader among pcscd's, unless already known. */
static int
find_reader(Job *j, GError **error)
{
	if (j->p->reader)
		return 0;
	const char *want = hal_dev_option(j->dev, "reader");
	IoCall *c = call_new(IO_LIST, "SCardListReaders");
	if (io_call(j, c, error) < 0)
		return -1;
	int rc = -1;
	if (c->rv == SCARD_E_NO_READERS_AVAILABLE) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
			    "%s: no reader matching \"%s\" (pcscd has no readers)", j->name, want);
		goto out;
	}
	if (c->rv != SCARD_S_SUCCESS) {
		rv_error(j, c->rv, "SCardListReaders", error);
		goto out;
	}
	int matches;
	const char *r = pcsc_pick_reader(c->readers, c->readers_len, want, &matches);
	if (!r) {
		g_autoptr(GString) all = g_string_new(NULL);
		for (const char *s = c->readers; s < c->readers + c->readers_len && *s;
		     s += strlen(s) + 1)
			g_string_append_printf(all, "%s\"%s\"", all->len ? ", " : "", s);
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: %s \"%s\" (readers: %s)",
			    j->name,
			    matches ? "more than one reader matches" : "no reader matching", want,
			    all->str);
		goto out;
	}
	j->p->reader = g_strdup(r);
	g_info("%s: reader \"%s\"", j->name, r);
	rc = 0;
out:
	call_unref(c);
	return rc;
}

static DWORD
protocols(HalDevice *dev)
{
	const char *p = hal_dev_option(dev, "protocol");
	if (strcmp(p, "t0") == 0)
		return SCARD_PROTOCOL_T0;
	if (strcmp(p, "t1") == 0)
		return SCARD_PROTOCOL_T1;
	return SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
}

static int
connect_card(Job *j, DWORD share, GError **error)
{
	IoCall *c = call_new(IO_CONNECT, "SCardConnect");
	c->reader = g_strdup(j->p->reader);
	c->share = share;
	c->protocols = protocols(j->dev);
	if (io_call(j, c, error) < 0)
		return -1;
	long rv = c->rv;
	call_unref(c);
	if (rv != SCARD_S_SUCCESS)
		return rv_error(j, rv, "SCardConnect", error);
	j->connected = TRUE;
	return 0;
}

static void
disconnect_card(Job *j)
{
	if (!j->connected || still_stuck(j))
		return;
	j->connected = FALSE;
	IoCall *c = call_new(IO_DISCONNECT, "SCardDisconnect");
	GError *e = NULL;
	if (io_call(j, c, &e) == 0)
		call_unref(c);
	g_clear_error(&e);
}

/* Sends A; the answer's data (at most RESP_MAX bytes; RESP may be NULL) goes
 * to RESP and *RESP_LEN, its status word to *SW.  61xx fetches the rest with
 * GET RESPONSE, 6Cxx sends A again with the Le the card asked for.  WHAT
 * names the command in errors.  0 whatever the status word; -1 with ERROR when
 * no answer came. */
static int
xfer(Job *j, const PcscApdu *a, uint8_t *resp, size_t resp_max, size_t *resp_len, uint16_t *sw,
     const char *what, GError **error)
{
	PcscApdu cmd = *a;
	size_t got = 0;
	for (int round = 0; round < 64; round++) {
		if (g_cancellable_is_cancelled(j->cancel)) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_CANCELLED,
				    "%s: cancelled before %s", j->name, what);
			return -1;
		}
		IoCall *c = call_new(IO_TRANSMIT, what);
		memcpy(c->send, cmd.b, cmd.len);
		c->send_len = (DWORD)cmd.len;
		if (io_call(j, c, error) < 0)
			return -1;
		j->apdus++;
		long rv = c->rv;
		if (rv != SCARD_S_SUCCESS) {
			call_unref(c);
			return rv_error(j, rv, what, error);
		}
		if (c->recv_len < 2) {
			call_unref(c);
			/* vpcd's way of saying the card went mid-command. */
			g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
				    "%s: the chip stopped answering during %s (an answer without "
				    "status word: card torn away, or failed)",
				    j->name, what);
			return -1;
		}
		size_t n = c->recv_len - 2;
		*sw = (uint16_t)(c->recv[n] << 8 | c->recv[n + 1]);
		if (resp && n > 0) {
			size_t keep = MIN(n, resp_max - got);
			memcpy(resp + got, c->recv, keep);
			got += keep;
		}
		call_unref(c);
		size_t le;
		switch (pcsc_sw_action(*sw, &le)) {
		case PCSC_SW_DONE:
			if (resp_len)
				*resp_len = got;
			return 0;
		case PCSC_SW_GET_RESPONSE:
			pcsc_apdu_get_response(&cmd, le);
			break;
		case PCSC_SW_RESEND:
			/* Only a command that carries Le can be asked for another one. */
			if (a->len == 5 || (a->len > 5 && a->len == 6 + (size_t)a->b[4])) {
				cmd = *a;
				cmd.b[cmd.len - 1] = (uint8_t)(le & 0xff);
				got = 0;
				break;
			}
			if (resp_len)
				*resp_len = got;
			return 0;
		}
	}
	g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
		    "%s: %s: the chip keeps asking for GET RESPONSE", j->name, what);
	return -1;
}

static int
sw_error(Job *j, uint16_t sw, const char *what, GError **error)
{
	g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE, "%s: %s: SW %04X (%s)", j->name, what, sw,
		    pcsc_sw_meaning(sw));
	return -1;
}

/* Sends A and wants 9000. */
static int
command(Job *j, const PcscApdu *a, const char *what, GError **error)
{
	uint16_t sw;
	if (xfer(j, a, NULL, 0, NULL, &sw, what, error) < 0)
		return -1;
	return sw == 0x9000 ? 0 : sw_error(j, sw, what, error);
}

/* Upper-case hex of B (caller frees). */
static char *
hex(const uint8_t *b, size_t n)
{
	GString *s = g_string_sized_new(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02X", b[i]);
	return g_string_free(s, FALSE);
}

/* Selects the chip's application, creating it when allowed and absent. */
static int
select_application(Job *j, const HalChip *chip, gboolean create, GError **error)
{
	g_autofree char *aid = hex(chip->aid, chip->aid_len);
	g_autofree char *what = g_strdup_printf("SELECT of application %s", aid);
	PcscApdu a;
	uint16_t sw;
	pcsc_apdu_select_aid(&a, chip->aid, chip->aid_len);
	if (xfer(j, &a, NULL, 0, NULL, &sw, what, error) < 0)
		return -1;
	if (sw == 0x9000)
		return 0;
	if (sw != 0x6a82 || !create)
		return sw_error(j, sw, what, error);
	g_autofree char *cwhat = g_strdup_printf("CREATE FILE of application %s", aid);
	pcsc_apdu_select_mf(&a);
	if (command(j, &a, "SELECT of the MF", error) < 0)
		return -1;
	pcsc_apdu_create_df(&a, chip->aid, chip->aid_len);
	if (command(j, &a, cwhat, error) < 0)
		return -1;
	pcsc_apdu_select_aid(&a, chip->aid, chip->aid_len);
	return command(j, &a, what, error);
}

/* Makes F's EF the current file, with exactly F's size when CREATE. */
static int
prepare_file(Job *j, const HalChipFile *f, gboolean create, GError **error)
{
	g_autofree char *what = g_strdup_printf("SELECT of EF %04X", f->fid);
	PcscApdu a;
	if (!create) {
		pcsc_apdu_select_ef(&a, f->fid, FALSE);
		return command(j, &a, what, error);
	}
	uint8_t fcp[256];
	size_t fcp_len = 0, size = 0;
	uint16_t sw;
	pcsc_apdu_select_ef(&a, f->fid, TRUE);
	if (xfer(j, &a, fcp, sizeof fcp, &fcp_len, &sw, what, error) < 0)
		return -1;
	if (sw == 0x9000 && pcsc_fcp_size(fcp, fcp_len, &size) == 0 && size == f->len)
		return 0; /* there, with the right size: write over it */
	if (sw == 0x9000) {
		g_autofree char *dwhat = g_strdup_printf(
			"DELETE FILE of EF %04X (it holds %zu bytes, the chip image %zu)", f->fid,
			size, f->len);
		pcsc_apdu_delete_ef(&a, f->fid);
		if (command(j, &a, dwhat, error) < 0)
			return -1;
	} else if (sw != 0x6a82) {
		return sw_error(j, sw, what, error);
	}
	g_autofree char *cwhat =
		g_strdup_printf("CREATE FILE of EF %04X (%zu bytes)", f->fid, f->len);
	pcsc_apdu_create_ef(&a, f->fid, f->len);
	if (command(j, &a, cwhat, error) < 0)
		return -1;
	/* CREATE FILE should leave the new EF current; not every chip does. */
	pcsc_apdu_select_ef(&a, f->fid, FALSE);
	return command(j, &a, what, error);
}

static int
write_file(Job *j, const HalChipFile *f, size_t chunk, GError **error)
{
	PcscApdu a;
	for (size_t off = 0; off < f->len; off += chunk) {
		size_t n = pcsc_chunk_len(f->len, off, chunk);
		g_autofree char *what = g_strdup_printf(
			"UPDATE BINARY of EF %04X at offset %zu (%zu bytes)", f->fid, off, n);
		pcsc_apdu_update_binary(&a, off, f->data + off, n);
		if (command(j, &a, what, error) < 0)
			return -1;
	}
	return 0;
}

static int
verify_file(Job *j, const HalChipFile *f, size_t chunk, GError **error)
{
	g_autofree char *what = g_strdup_printf("SELECT of EF %04X", f->fid);
	PcscApdu a;
	pcsc_apdu_select_ef(&a, f->fid, FALSE);
	if (command(j, &a, what, error) < 0)
		return -1;
	uint8_t buf[256];
	for (size_t off = 0; off < f->len; off += chunk) {
		size_t n = pcsc_chunk_len(f->len, off, chunk), got = 0;
		uint16_t sw;
		g_autofree char *rwhat = g_strdup_printf(
			"READ BINARY of EF %04X at offset %zu (%zu bytes)", f->fid, off, n);
		pcsc_apdu_read_binary(&a, off, n);
		if (xfer(j, &a, buf, sizeof buf, &got, &sw, rwhat, error) < 0)
			return -1;
		if (sw != 0x9000 && sw != 0x6282)
			return sw_error(j, sw, rwhat, error);
		if (got < n) {
			g_set_error(
				error, HAL_ERROR, HAL_ERROR_DEVICE,
				"%s: EF %04X reads back only %zu of its %zu bytes (%s: SW %04X)",
				j->name, f->fid, off + got, f->len, rwhat, sw);
			return -1;
		}
		for (size_t k = 0; k < n; k++) {
			if (buf[k] != f->data[off + k]) {
				g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
					    "%s: EF %04X reads back different from what was "
					    "written, first at offset %zu (%02X, not %02X)",
					    j->name, f->fid, off + k, buf[k], f->data[off + k]);
				return -1;
			}
		}
	}
	return 0;
}

/* One attempt at the whole encode. */
static int
encode_once(Job *j, const HalChip *chip, GError **error)
{
	size_t chunk = (size_t)hal_dev_option_int(j->dev, "chunk");
	gboolean create = hal_dev_option_bool(j->dev, "create_files");
	if (ensure_context(j, error) < 0 || find_reader(j, error) < 0 ||
	    connect_card(j, SCARD_SHARE_EXCLUSIVE, error) < 0)
		return -1;
	int rc = -1;
	if (select_application(j, chip, create, error) < 0)
		goto out;
	for (size_t i = 0; i < chip->n_files; i++)
		if (prepare_file(j, &chip->files[i], create, error) < 0 ||
		    write_file(j, &chip->files[i], chunk, error) < 0)
			goto out;
	/* Read back what a reader of the card will see: from the application down. */
	if (select_application(j, chip, FALSE, error) < 0)
		goto out;
	for (size_t i = 0; i < chip->n_files; i++)
		if (verify_file(j, &chip->files[i], chunk, error) < 0)
			goto out;
	rc = 0;
out:
	disconnect_card(j);
	return rc;
}

static void
job_init(Job *j, HalDevice *dev, GCancellable *cancel)
{
	memset(j, 0, sizeof *j);
	j->dev = dev;
	j->p = hal_dev_get_private(dev);
	j->cancel = cancel;
	j->name = hal_dev_name(dev);
	j->timeout_ms = hal_dev_option_int(dev, "apdu_timeout");
}

static int
pcsc_open(HalDevice *dev, GError **error)
{
	/* The manager opens again after a failed status without closing: reuse. */
	if (!hal_dev_get_private(dev))
		hal_dev_set_private(dev, pcsc_new());
	Job j;
	job_init(&j, dev, NULL);
	if (still_stuck(&j))
		return 0;      /* known and open; status tells what it waits for */
	j.p->have_ctx = FALSE; /* a fresh look, as after a restart of pcscd */
	g_clear_pointer(&j.p->reader, g_free);
	if (ensure_context(&j, error) < 0 || find_reader(&j, error) < 0) {
		if (!still_stuck(&j)) {
			/* close() is not called after a failed open. */
			pcsc_free(j.p);
			hal_dev_set_private(dev, NULL);
		}
		return -1;
	}
	return 0;
}

static void
pcsc_close(HalDevice *dev)
{
	pcsc_free(hal_dev_get_private(dev));
	hal_dev_set_private(dev, NULL);
}

/* Reads the UID of the card in the station (FF CA), shared with others. */
static void
read_uid(Job *j)
{
	GError *e = NULL;
	j->p->uid[0] = '\0';
	if (connect_card(j, SCARD_SHARE_SHARED, &e) == 0) {
		PcscApdu a;
		uint8_t uid[32];
		size_t n = 0;
		uint16_t sw = 0;
		pcsc_apdu_get_uid(&a);
		if (xfer(j, &a, uid, sizeof uid, &n, &sw, "GET UID (FF CA)", &e) == 0 &&
		    sw == 0x9000 && n > 0) {
			g_autofree char *h = hex(uid, n);
			g_strlcpy(j->p->uid, h, sizeof j->p->uid);
		}
	}
	if (e)
		g_debug("%s: no UID: %s", j->name, e->message);
	g_clear_error(&e);
	disconnect_card(j);
}

/* One look at the reader: card or none, and the card's UID once per card. */
static int
status_once(Job *j, HalStatus *out, GError **error)
{
	if (ensure_context(j, error) < 0 || find_reader(j, error) < 0)
		return -1;
	IoCall *c = call_new(IO_STATE, "SCardGetStatusChange");
	c->reader = g_strdup(j->p->reader);
	if (io_call(j, c, error) < 0)
		return -1;
	long rv = c->rv;
	DWORD st = c->event_state;
	call_unref(c);
	if (rv != SCARD_S_SUCCESS)
		return rv_error(j, rv, "SCardGetStatusChange", error);
	g_strlcpy(out->firmware, j->p->reader, sizeof out->firmware);
	if (st & SCARD_STATE_MUTE) {
		out->state = HAL_STATE_DEGRADED;
		out->reasons[0] = "chip-mute";
	} else if (st & SCARD_STATE_PRESENT) {
		/* The high word counts the reader's events: a new card, a new UID. */
		DWORD event = st >> 16;
		if (!j->p->uid[0] || event != j->p->card_event) {
			read_uid(j);
			j->p->card_event = event;
		}
		g_strlcpy(out->serial, j->p->uid, sizeof out->serial);
	} else {
		j->p->uid[0] = '\0';
	}
	return 0;
}

static int
pcsc_status(HalDevice *dev, HalStatus *out, GCancellable *cancel, GError **error)
{
	Job j;
	job_init(&j, dev, cancel);
	if (still_stuck(&j)) {
		out->state = HAL_STATE_FAULT;
		out->reasons[0] = "chip-not-answering";
		return 0;
	}
	if (status_once(&j, out, error) == 0)
		return 0;
	if (!j.service_lost)
		return -1;
	g_message("%s: pcscd went away; establishing a new context", j.name);
	g_clear_error(error);
	j.service_lost = FALSE;
	return status_once(&j, out, error);
}

static int
pcsc_encode(HalDevice *dev, const HalChip *chip, GCancellable *cancel, GError **error)
{
	if (pcsc_chip_check(chip, error) < 0)
		return -1;
	Job j;
	job_init(&j, dev, cancel);
	gint64 start = g_get_monotonic_time();
	size_t bytes = 0;
	for (size_t i = 0; i < chip->n_files; i++)
		bytes += chip->files[i].len;
	for (int attempt = 0;; attempt++) {
		g_clear_error(error);
		j.service_lost = FALSE;
		if (encode_once(&j, chip, error) == 0)
			break;
		if (!j.service_lost || attempt > 0)
			return -1;
		/* pcscd was restarted: a new context, the reader found again, from the top. */
		g_message("%s: pcscd went away (%s); establishing a new context and encoding again",
			  j.name, (*error)->message);
		g_clear_pointer(&j.p->reader, g_free);
	}
	g_info("%s: chip written and read back: %zu files, %zu bytes, %u APDUs, %" G_GINT64_FORMAT
	       " ms",
	       j.name, chip->n_files, bytes, j.apdus, (g_get_monotonic_time() - start) / 1000);
	return 0;
}

const HalDriver pcsc_driver = {
	.abi = HAL_ABI_VERSION,
	.name = "pcsc",
	.version = "1",
	.klass = HAL_CLASS_ENCODER,
	.caps = HAL_CAP_ENCODE,
	.options = options,
	.check_option = pcsc_check_option,
	.open = pcsc_open,
	.close = pcsc_close,
	.status = pcsc_status,
	.encode = pcsc_encode,
};
