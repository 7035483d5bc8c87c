/* SPDX-License-Identifier: MIT */
/*
 * The only module that calls OpenSSL: random bytes, SHA-256, PIN hashing with
 * scrypt, constant-time comparison, and the encryption of records at rest.
 * Later issues add a KDF and CMS here, behind the same prefix.
 *
 * Records at rest (biometrics, up to a few MB each) are sealed with
 * AES-256-GCM under a fresh data key per record; the data key is wrapped under
 * the workstation key, which lives in a key file of mode 0600.  The record id
 * goes in as associated data both when sealing and when wrapping, so a blob or
 * a wrapped key moved to another record no longer opens.
 */
#ifndef EKTP_CRYPTO_H
#define EKTP_CRYPTO_H

#include <gio/gio.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_ERROR (crypto_error_quark())
GQuark crypto_error_quark(void);

typedef enum {
	CRYPTO_ERROR_FAILED,  /* OpenSSL or the OS failed (no random bytes, out of memory) */
	CRYPTO_ERROR_FORMAT,  /* not a blob or wrapped key of ours: too short, unknown version */
	CRYPTO_ERROR_AUTH,    /* authentication failed: wrong key, wrong associated data, altered */
	CRYPTO_ERROR_KEYFILE, /* a key file broke a rule below: type, owner, mode, size, content */
	CRYPTO_ERROR_IO,      /* a system call on a key file failed; the message has strerror */
} CryptoErrorCode;

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX_LEN 64

/* Fills BUF with N bytes from the OS-seeded CSPRNG.  0, or -1 if it fails. */
int crypto_random(void *buf, size_t n);

void crypto_sha256(const void *data, size_t n, uint8_t out[CRYPTO_SHA256_LEN]);
/* Lower-case hex of SHA-256; OUT holds 65 bytes (NUL-terminated). */
void crypto_sha256_hex(const void *data, size_t n, char out[CRYPTO_SHA256_HEX_LEN + 1]);

/*
 * Hashes PIN with scrypt (cost N, r=8, p=1) and a fresh 16-byte salt.
 * Returns "scrypt$N$r$p$SALT$HASH" (base64 parts; caller frees) or NULL with
 * ERROR set.  Slow on purpose: call it from a worker thread, not the loop.
 */
char *crypto_pin_hash(const char *pin, guint64 n, GError **error);

/* 1 if PIN matches STORED, 0 if not, -1 if STORED is not a hash we made. */
int crypto_pin_verify(const char *pin, const char *stored);

/* A hash of a PIN nobody knows, at cost N: verified against to keep timing even. */
const char *crypto_pin_dummy_hash(guint64 n);

/* TRUE when the N bytes at A and B are equal; time independent of content. */
gboolean crypto_equal(const void *a, const void *b, size_t n);

/* Overwrites N bytes at P in a way the compiler keeps. */
void crypto_wipe(void *p, size_t n);

/* ---- sealed records: AES-256-GCM ---- */

/* Data keys and the workstation key: AES-256. */
#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16
/* What a sealed blob adds to its plaintext: version byte, nonce and tag. */
#define CRYPTO_AEAD_OVERHEAD (1 + CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)

/*
 * Seals N bytes at PLAIN under KEY with AES-256-GCM and a fresh random 96-bit
 * nonce, binding AD (AD_LEN bytes, e.g. the record id; may be NULL when
 * AD_LEN is 0) without storing it.  The blob is
 *
 *     0x01 (version) | nonce (12) | ciphertext (N) | tag (16)
 *
 * N + CRYPTO_AEAD_OVERHEAD bytes; the version byte is authenticated too.
 * Returns the blob (caller unrefs) or NULL with ERROR set.  KEY, PLAIN and AD
 * are borrowed for the call.  One pass over the data and one allocation, so
 * images of several MB cost milliseconds (GCM cannot release plaintext before
 * the tag is checked, so a blob is opened whole; a blob much larger than
 * memory would need a chunked format under a new version byte).
 *
 * Random nonces are safe here: a data key seals one record, and the
 * workstation key wraps far fewer than the 2^32 keys NIST SP 800-38D allows.
 */
GBytes *crypto_aead_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *plain, size_t n,
			 const void *ad, size_t ad_len, GError **error);

/*
 * Opens a blob made by crypto_aead_seal() with the same KEY and AD.  Returns
 * the plaintext (caller unrefs; its memory is wiped when the last reference
 * goes) or NULL with ERROR set: CRYPTO_ERROR_FORMAT when BLOB is shorter than
 * CRYPTO_AEAD_OVERHEAD or has another version byte, CRYPTO_ERROR_AUTH when
 * the key or AD is wrong or any byte was changed, cut off or added.  No
 * plaintext is released unless the tag checks.  Arguments are borrowed.
 */
GBytes *crypto_aead_open(const uint8_t key[CRYPTO_KEY_LEN], const void *blob, size_t blob_len,
			 const void *ad, size_t ad_len, GError **error);

/* ---- data keys wrapped under the workstation key ---- */

/*
 * A wrapped key is an AEAD blob of its own kind (version byte 0x02, so a
 * sealed record and a wrapped key can never be taken for each other):
 *     0x02 | nonce (12) | encrypted key (32) | tag (16)
 * AES-256-GCM rather than RFC 5649 key wrap because GCM takes associated
 * data (KWP does not), so the record id binds the wrapped key to its record
 * as well; its tag is 128 bits against KWP's 64; and it is the primitive
 * already used and tested for the records.
 */
#define CRYPTO_WRAPPED_KEY_LEN (CRYPTO_AEAD_OVERHEAD + CRYPTO_KEY_LEN)

/*
 * Wraps KEY under KEK, binding AD (as for crypto_aead_seal), into OUT.  0, or
 * -1 with ERROR set.  All pointers are borrowed for the call.
 */
int crypto_key_wrap(const uint8_t kek[CRYPTO_KEY_LEN], const uint8_t key[CRYPTO_KEY_LEN],
		    const void *ad, size_t ad_len, uint8_t out[CRYPTO_WRAPPED_KEY_LEN],
		    GError **error);

/*
 * Unwraps WRAPPED (LEN bytes, as read from storage) under KEK and AD into
 * OUT_KEY.  0, or -1 with ERROR set (CRYPTO_ERROR_FORMAT for a wrong length
 * or kind, CRYPTO_ERROR_AUTH as crypto_aead_open), OUT_KEY then zeroed.  The
 * caller wipes OUT_KEY with crypto_wipe() when done.  Pointers are borrowed.
 */
int crypto_key_unwrap(const uint8_t kek[CRYPTO_KEY_LEN], const void *wrapped, size_t len,
		      const void *ad, size_t ad_len, uint8_t out_key[CRYPTO_KEY_LEN],
		      GError **error);

/* ---- the workstation key file ---- */

/*
 * A key file is 48 bytes:
 *     "EKTPWK01" (8) | key (32) | the first 8 bytes of SHA-256("EKTPWK01" | key)
 * so a truncated, padded or damaged file is refused at start instead of
 * making every record fail to open later.
 */
#define CRYPTO_KEYFILE_LEN (8 + CRYPTO_KEY_LEN + 8)

/*
 * Loads the workstation key from PATH into OUT_KEY, or creates it when PATH
 * does not exist: a fresh random key is written to a temporary file of mode
 * 0600 beside PATH (O_EXCL), synced, linked to PATH (which fails if PATH has
 * appeared meanwhile; the key there is then loaded) and the directory synced,
 * so PATH never holds a partial key.  *CREATED (may be NULL) tells which
 * happened.
 *
 * An existing file is refused (CRYPTO_ERROR_KEYFILE, the message names PATH
 * and the rule) when it is a symbolic link or not a regular file, when group
 * or others have any permission on it (mode & 077), when it is owned by
 * another user than the effective one, when it is not CRYPTO_KEYFILE_LEN
 * bytes, or when its magic or check value is wrong.  Returns 0, or -1 with
 * ERROR set and OUT_KEY zeroed.  PATH is borrowed; the caller wipes OUT_KEY
 * with crypto_wipe() when done.  Blocks on fsync: call it at start-up.
 */
int crypto_keyfile_load_or_create(const char *path, uint8_t out_key[CRYPTO_KEY_LEN],
				  gboolean *created, GError **error);

#endif
