/* SPDX-License-Identifier: MIT */
/*
 * The only module that calls OpenSSL.  Today: random bytes, SHA-256, PIN
 * hashing with scrypt and constant-time comparison.  Later issues add AEAD,
 * key wrapping and CMS here, behind the same prefix.
 */
#ifndef EKTP_CRYPTO_H
#define EKTP_CRYPTO_H

#include <gio/gio.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
