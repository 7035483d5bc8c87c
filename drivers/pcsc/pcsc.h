/* SPDX-License-Identifier: MIT */
/*
 * The PC/SC chip encoder: writes a chip image (HalChip) to the card in a
 * pcsc-lite reader chosen by name, with ISO 7816-4 file commands, and reads
 * it back.  Besides the driver table, this header exposes the driver's pure
 * parts (APDU building, status-word meanings, FCP parsing, chunking, the
 * classification of PC/SC return codes) for tests/unit/test_pcsc_apdu.c; none
 * of them calls PC/SC.
 */
#ifndef EKTP_DRIVERS_PCSC_H
#define EKTP_DRIVERS_PCSC_H

#include <ektp/hal.h>

#include <stddef.h>
#include <stdint.h>

extern const HalDriver pcsc_driver;

/* The longest short APDU: header, Lc, 255 data bytes, Le. */
#define PCSC_APDU_MAX 261
/* Short APDUs carry at most this many data bytes one way. */
#define PCSC_CHUNK_MAX 255
/* READ/UPDATE BINARY offsets are 15 bits (P1 bit 8 set means a short file id). */
#define PCSC_OFFSET_MAX 0x7fff
/* A file the encoder writes may hold at most this many bytes, so every chunk
 * starts at an offset that fits 15 bits whatever the chunk size. */
#define PCSC_FILE_MAX 0x7fff

/* One command APDU, built in place. */
typedef struct {
	uint8_t b[PCSC_APDU_MAX];
	size_t len;
} PcscApdu;

/* The builders fill A and return 0, or -1 (A untouched) when the arguments do
 * not fit a short APDU.  Pointers are borrowed for the call. */

/* SELECT the MF: 00 A4 00 0C 02 3F 00. */
int pcsc_apdu_select_mf(PcscApdu *a);
/* SELECT a DF by name (AID, 1..16 bytes), no answer data: 00 A4 04 0C Lc AID. */
int pcsc_apdu_select_aid(PcscApdu *a, const uint8_t *aid, size_t aid_len);
/* SELECT an EF of the current DF by file id: 00 A4 02 0C 02 FID, or with
 * WANT_FCP 00 A4 02 04 02 FID 00 (the answer carries the FCP template). */
int pcsc_apdu_select_ef(PcscApdu *a, uint16_t fid, gboolean want_fcp);
/* CREATE FILE of a DF named AID under the current DF:
 * 00 E0 00 00 Lc 62 L 82 01 38 84 n AID. */
int pcsc_apdu_create_df(PcscApdu *a, const uint8_t *aid, size_t aid_len);
/* CREATE FILE of a transparent EF of SIZE bytes (≤ 65535) in the current DF:
 * 00 E0 00 00 0D 62 0B 80 02 SIZE 82 01 01 83 02 FID. */
int pcsc_apdu_create_ef(PcscApdu *a, uint16_t fid, size_t size);
/* DELETE FILE of an EF of the current DF: 00 E4 02 00 02 FID. */
int pcsc_apdu_delete_ef(PcscApdu *a, uint16_t fid);
/* UPDATE BINARY of the current EF: 00 D6 OFF_HI OFF_LO Lc DATA (case 3, no Le);
 * LEN 1..255, OFFSET ≤ 0x7FFF. */
int pcsc_apdu_update_binary(PcscApdu *a, size_t offset, const uint8_t *data, size_t len);
/* READ BINARY of the current EF: 00 B0 OFF_HI OFF_LO Le; LE 1..256 (256 is Le 00). */
int pcsc_apdu_read_binary(PcscApdu *a, size_t offset, size_t le);
/* GET RESPONSE: 00 C0 00 00 Le; LE 1..256. */
int pcsc_apdu_get_response(PcscApdu *a, size_t le);
/* The PC/SC pseudo-APDU for the card's UID (answered by the reader): FF CA 00 00 00. */
int pcsc_apdu_get_uid(PcscApdu *a);

/* What a status word means, ISO 7816-4 table 5/6 ("not enough memory space in
 * the file" for 6A84); never NULL.  Static. */
const char *pcsc_sw_meaning(uint16_t sw);

typedef enum {
	PCSC_SW_DONE,         /* 9000, or any status for the caller to judge */
	PCSC_SW_GET_RESPONSE, /* 61xx: fetch *LE more bytes with GET RESPONSE */
	PCSC_SW_RESEND,       /* 6Cxx: send the command again with Le = *LE */
} PcscSwAction;

/* The transport-level follow-up ISO 7816-4 asks for after SW (5.1.3): 61xx
 * and 6Cxx give the length to use in *LE (1..256). */
PcscSwAction pcsc_sw_action(uint16_t sw, size_t *le);

/* The file size in an FCP template (62 L … 80 n SIZE …; 81 when 80 is
 * missing).  0 with *SIZE set, or -1 when FCP holds no size.  FCP borrowed. */
int pcsc_fcp_size(const uint8_t *fcp, size_t len, size_t *size);

/* How many bytes the chunk at OFFSET of a LEN-byte file holds with chunks of
 * CHUNK bytes (0 past the end); a file takes ceil(LEN / CHUNK) chunks. */
size_t pcsc_chunk_len(size_t len, size_t offset, size_t chunk);
size_t pcsc_chunk_count(size_t len, size_t chunk);

/* Checks that CHIP can be written with these commands: an AID of 1..16 bytes,
 * file ids neither 3F00, 3FFF nor FFFF and not repeated, files of at most
 * PCSC_FILE_MAX bytes.  0, or -1 with ERROR (HAL_ERROR_FAILED) naming the file. */
int pcsc_chip_check(const HalChip *chip, GError **error);

/* What a PC/SC return code means to the encoder. */
typedef enum {
	PCSC_RV_OK,
	PCSC_RV_NO_CARD,     /* no card, or it was removed: HAL_ERROR_ABSENT */
	PCSC_RV_CARD_LOST,   /* the card stopped answering mid-command (torn, dead) */
	PCSC_RV_SERVICE,     /* pcscd went away: re-establish the context */
	PCSC_RV_READER_GONE, /* the reader is not (or no longer) known to pcscd */
	PCSC_RV_SHARING,     /* another program holds the card exclusively */
	PCSC_RV_OTHER,
} PcscRvKind;

PcscRvKind pcsc_rv_kind(long rv);
/* The name of a PC/SC return code ("SCARD_E_NO_SERVICE"), or "SCARD_?". Static. */
const char *pcsc_rv_name(long rv);

/* The reader to use among pcsc-lite's multi-string READERS (borrowed): the
 * one named exactly WANT, else the only one containing WANT.  Returns a
 * pointer into READERS, or NULL with *MATCHES set to how many contain WANT
 * (0: none, 2 or more: ambiguous). */
const char *pcsc_pick_reader(const char *readers, size_t readers_len, const char *want,
			     int *matches);

#endif
