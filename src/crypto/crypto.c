/* SPDX-License-Identifier: MIT */
/*
 * OpenSSL behind small functions with GLib-style errors.  PIN hashes carry
 * their own parameters so the cost can be raised later without breaking
 * existing accounts.
 */
#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32
#define SCRYPT_R 8
#define SCRYPT_P 1

int
crypto_random(void *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

void
crypto_sha256(const void *data, size_t n, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int len = 0;
	/* EVP_Digest only fails on allocation failure, which GLib treats as fatal too. */
	if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 || len != CRYPTO_SHA256_LEN)
		g_error("SHA-256 failed");
}

void
crypto_sha256_hex(const void *data, size_t n, char out[CRYPTO_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[CRYPTO_SHA256_LEN];
	crypto_sha256(data, n, md);
	for (int i = 0; i < CRYPTO_SHA256_LEN; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[CRYPTO_SHA256_HEX_LEN] = '\0';
}

static int
scrypt(const char *pin, const uint8_t *salt, size_t salt_len, guint64 n, guint64 r, guint64 p,
       uint8_t *out, size_t out_len)
{
	/* OpenSSL needs 128*N*r*p bytes plus a little; allow exactly what the cost asks. */
	guint64 maxmem = 128 * n * r * p + (1 << 20);
	return EVP_PBE_scrypt(pin, strlen(pin), salt, salt_len, n, r, p, maxmem, out, out_len) == 1
		       ? 0
		       : -1;
}

char *
crypto_pin_hash(const char *pin, guint64 n, GError **error)
{
	uint8_t salt[SALT_LEN], hash[HASH_LEN];

	if (crypto_random(salt, sizeof salt) < 0 ||
	    scrypt(pin, salt, sizeof salt, n, SCRYPT_R, SCRYPT_P, hash, sizeof hash) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "scrypt failed: %s",
			    ERR_reason_error_string(ERR_get_error()));
		return NULL;
	}
	g_autofree char *s64 = g_base64_encode(salt, sizeof salt);
	g_autofree char *h64 = g_base64_encode(hash, sizeof hash);
	crypto_wipe(hash, sizeof hash);
	return g_strdup_printf("scrypt$%" G_GUINT64_FORMAT "$%d$%d$%s$%s", n, SCRYPT_R, SCRYPT_P,
			       s64, h64);
}

int
crypto_pin_verify(const char *pin, const char *stored)
{
	g_auto(GStrv) part = g_strsplit(stored, "$", -1);
	if (g_strv_length(part) != 6 || strcmp(part[0], "scrypt") != 0)
		return -1;
	/* Bounds no hash of ours exceeds: a doctored one must not ask for gigabytes. */
	guint64 n, r, p;
	if (!g_ascii_string_to_unsigned(part[1], 10, 2, 1 << 20, &n, NULL) || (n & (n - 1)) ||
	    !g_ascii_string_to_unsigned(part[2], 10, 1, 16, &r, NULL) ||
	    !g_ascii_string_to_unsigned(part[3], 10, 1, 4, &p, NULL))
		return -1;
	gsize salt_len = 0, want_len = 0;
	g_autofree guchar *salt = g_base64_decode(part[4], &salt_len);
	g_autofree guchar *want = g_base64_decode(part[5], &want_len);
	if (salt_len < 8 || want_len != HASH_LEN)
		return -1;
	uint8_t got[HASH_LEN];
	if (scrypt(pin, salt, salt_len, n, r, p, got, sizeof got) < 0)
		return -1;
	int match = crypto_equal(got, want, HASH_LEN) ? 1 : 0;
	crypto_wipe(got, sizeof got);
	return match;
}

const char *
crypto_pin_dummy_hash(guint64 n)
{
	static GMutex lock;
	static GHashTable *by_cost; /* n → hash, made once per cost */
	g_mutex_lock(&lock);
	if (!by_cost)
		by_cost = g_hash_table_new(g_int64_hash, g_int64_equal);
	const char *h = g_hash_table_lookup(by_cost, &n);
	if (!h) {
		uint8_t junk[24];
		char pin[sizeof junk * 2 + 1];
		if (crypto_random(junk, sizeof junk) < 0)
			g_error("no random bytes");
		for (size_t i = 0; i < sizeof junk; i++)
			g_snprintf(pin + 2 * i, 3, "%02x", junk[i]);
		char *made = crypto_pin_hash(pin, n, NULL);
		if (!made)
			g_error("scrypt failed");
		guint64 *key = g_new(guint64, 1);
		*key = n;
		g_hash_table_insert(by_cost, key, made);
		h = made;
	}
	g_mutex_unlock(&lock);
	return h;
}

gboolean
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
