/* SPDX-License-Identifier: MIT */
/*
 * OpenSSL behind small functions with GLib-style errors.  PIN hashes carry
 * their own parameters so the cost can be raised later without breaking
 * existing accounts.  Sealed blobs and wrapped keys start with a version
 * byte that is itself authenticated, so a later format (another cipher, a
 * chunked stream) can sit beside this one and an old blob is never read as a
 * new one.  The key file is read through one descriptor that every check is
 * made on (fstat, not stat then open), so the file checked is the file read.
 */
#include "crypto/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(ektp-crypto-error-quark, crypto_error)

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

/* ---- sealed records ---- */

#define KIND_SEALED 0x01  /* crypto_aead_seal */
#define KIND_WRAPPED 0x02 /* crypto_key_wrap */

/* EVP takes int lengths; larger inputs go through in pieces this big. */
#define EVP_CHUNK (1 << 30)

/* Sets ERROR from OpenSSL's error queue (and empties it). */
static void
set_openssl_error(GError **error, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;
	g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FAILED, "%s failed: %s", what,
		    why ? why : "unknown OpenSSL error");
	ERR_clear_error();
}

/* Feeds N bytes at IN through CTX (cipher, or AAD when OUT is NULL).  0 or -1. */
static int
update(EVP_CIPHER_CTX *ctx, gboolean enc, uint8_t *out, const uint8_t *in, size_t n)
{
	while (n > 0) {
		int chunk = n > EVP_CHUNK ? EVP_CHUNK : (int)n, got = 0;
		int ok = enc ? EVP_EncryptUpdate(ctx, out, &got, in, chunk)
			     : EVP_DecryptUpdate(ctx, out, &got, in, chunk);
		/* GCM is a stream mode: every byte in comes straight out. */
		if (ok != 1 || (out && got != chunk))
			return -1;
		in += chunk;
		if (out)
			out += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

/*
 * Writes KIND | nonce | ciphertext | tag for N bytes at PLAIN into OUT, which
 * holds N + CRYPTO_AEAD_OVERHEAD bytes.  The AAD is KIND followed by AD.
 */
static int
seal_into(uint8_t kind, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *plain, size_t n,
	  const uint8_t *ad, size_t ad_len, uint8_t *out, GError **error)
{
	uint8_t *nonce = out + 1, *ct = nonce + CRYPTO_NONCE_LEN, *tag = ct + n;
	int ret = -1, len = 0;

	out[0] = kind;
	if (crypto_random(nonce, CRYPTO_NONCE_LEN) < 0) {
		set_openssl_error(error, "random nonce");
		return -1;
	}
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CRYPTO_NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
	    update(ctx, TRUE, NULL, out, 1) < 0 || update(ctx, TRUE, NULL, ad, ad_len) < 0 ||
	    update(ctx, TRUE, ct, plain, n) < 0 || EVP_EncryptFinal_ex(ctx, tag, &len) != 1 ||
	    len != 0 || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, tag) != 1) {
		set_openssl_error(error, "AES-256-GCM encryption");
		goto out;
	}
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx); /* also cleanses the expanded key */
	return ret;
}

static const char *
kind_name(uint8_t kind)
{
	switch (kind) {
	case KIND_SEALED:
		return "a sealed record";
	case KIND_WRAPPED:
		return "a wrapped key";
	default:
		return "of no kind we make";
	}
}

/*
 * Checks BLOB (LEN bytes) is of KIND and decrypts it into OUT, which holds
 * LEN - CRYPTO_AEAD_OVERHEAD bytes and is zeroed again unless the tag checks.
 */
static int
open_into(uint8_t kind, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *blob, size_t len,
	  const uint8_t *ad, size_t ad_len, uint8_t *out, GError **error)
{
	if (len < CRYPTO_AEAD_OVERHEAD) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    "encrypted blob of %zu bytes is shorter than header and tag (%d)", len,
			    CRYPTO_AEAD_OVERHEAD);
		return -1;
	}
	if (blob[0] != kind) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    "encrypted blob has version byte 0x%02x (%s), expected 0x%02x (%s)",
			    blob[0], kind_name(blob[0]), kind, kind_name(kind));
		return -1;
	}
	size_t n = len - CRYPTO_AEAD_OVERHEAD;
	const uint8_t *nonce = blob + 1, *ct = nonce + CRYPTO_NONCE_LEN, *tag = ct + n;
	int ret = -1, got = 0;

	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CRYPTO_NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
	    update(ctx, FALSE, NULL, blob, 1) < 0 || update(ctx, FALSE, NULL, ad, ad_len) < 0 ||
	    update(ctx, FALSE, out, ct, n) < 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, (void *)tag) != 1) {
		set_openssl_error(error, "AES-256-GCM decryption");
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, out + n, &got) != 1) {
		ERR_clear_error();
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_AUTH,
			    "authentication failed: wrong key or record id, or the encrypted "
			    "data was changed or cut short");
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		crypto_wipe(out, n); /* unauthenticated plaintext never leaves */
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

GBytes *
crypto_aead_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *plain, size_t n, const void *ad,
		 size_t ad_len, GError **error)
{
	g_return_val_if_fail(plain || n == 0, NULL);
	g_return_val_if_fail(ad || ad_len == 0, NULL);
	if (n > G_MAXSIZE - CRYPTO_AEAD_OVERHEAD) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FAILED,
			    "%zu bytes is too much to seal", n);
		return NULL;
	}
	uint8_t *blob = g_malloc(n + CRYPTO_AEAD_OVERHEAD);
	if (seal_into(KIND_SEALED, key, plain, n, ad, ad_len, blob, error) < 0) {
		g_free(blob);
		return NULL;
	}
	return g_bytes_new_take(blob, n + CRYPTO_AEAD_OVERHEAD);
}

/* Plaintext that is wiped when its GBytes goes. */
typedef struct {
	size_t len;
	uint8_t data[];
} Secret;

static void
secret_free(gpointer p)
{
	Secret *s = p;
	crypto_wipe(s->data, s->len);
	g_free(s);
}

GBytes *
crypto_aead_open(const uint8_t key[CRYPTO_KEY_LEN], const void *blob, size_t blob_len,
		 const void *ad, size_t ad_len, GError **error)
{
	g_return_val_if_fail(blob || blob_len == 0, NULL);
	g_return_val_if_fail(ad || ad_len == 0, NULL);
	size_t n = blob_len >= CRYPTO_AEAD_OVERHEAD ? blob_len - CRYPTO_AEAD_OVERHEAD : 0;
	Secret *s = g_malloc(sizeof *s + n);
	s->len = n;
	if (open_into(KIND_SEALED, key, blob, blob_len, ad, ad_len, s->data, error) < 0) {
		g_free(s); /* open_into zeroed it */
		return NULL;
	}
	return g_bytes_new_with_free_func(s->data, n, secret_free, s);
}

int
crypto_key_wrap(const uint8_t kek[CRYPTO_KEY_LEN], const uint8_t key[CRYPTO_KEY_LEN],
		const void *ad, size_t ad_len, uint8_t out[CRYPTO_WRAPPED_KEY_LEN], GError **error)
{
	g_return_val_if_fail(ad || ad_len == 0, -1);
	return seal_into(KIND_WRAPPED, kek, key, CRYPTO_KEY_LEN, ad, ad_len, out, error);
}

int
crypto_key_unwrap(const uint8_t kek[CRYPTO_KEY_LEN], const void *wrapped, size_t len,
		  const void *ad, size_t ad_len, uint8_t out_key[CRYPTO_KEY_LEN], GError **error)
{
	g_return_val_if_fail(wrapped || len == 0, -1);
	g_return_val_if_fail(ad || ad_len == 0, -1);
	memset(out_key, 0, CRYPTO_KEY_LEN);
	if (len != CRYPTO_WRAPPED_KEY_LEN) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    "wrapped key of %zu bytes; a wrapped key is %d bytes", len,
			    CRYPTO_WRAPPED_KEY_LEN);
		return -1;
	}
	return open_into(KIND_WRAPPED, kek, wrapped, len, ad, ad_len, out_key, error);
}

/* ---- the workstation key file ---- */

#define KEYFILE_MAGIC "EKTPWK01"
#define KEYFILE_MAGIC_LEN 8
#define KEYFILE_CHECK_LEN 8

G_STATIC_ASSERT(sizeof KEYFILE_MAGIC - 1 == KEYFILE_MAGIC_LEN);
G_STATIC_ASSERT(CRYPTO_KEYFILE_LEN == KEYFILE_MAGIC_LEN + CRYPTO_KEY_LEN + KEYFILE_CHECK_LEN);

/* Fills FILE (CRYPTO_KEYFILE_LEN bytes) with the magic, KEY and its check value. */
static void
keyfile_build(const uint8_t key[CRYPTO_KEY_LEN], uint8_t file[CRYPTO_KEYFILE_LEN])
{
	uint8_t md[CRYPTO_SHA256_LEN];
	memcpy(file, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN);
	memcpy(file + KEYFILE_MAGIC_LEN, key, CRYPTO_KEY_LEN);
	crypto_sha256(file, KEYFILE_MAGIC_LEN + CRYPTO_KEY_LEN, md);
	memcpy(file + KEYFILE_MAGIC_LEN + CRYPTO_KEY_LEN, md, KEYFILE_CHECK_LEN);
	crypto_wipe(md, sizeof md);
}

static void
set_errno_error(GError **error, int err, const char *what, const char *path)
{
	g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "key file %s: %s: %s", path, what,
		    g_strerror(err));
}

/* Reads up to N bytes, retrying short reads and EINTR.  Bytes read, or -1. */
static ssize_t
read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int
write_full(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Opens the private file at PATH for reading and checks it is a regular file
 * of ours that nobody else may read, on the descriptor that will be read.
 * Returns the descriptor with *ST filled, -2 when PATH does not exist (ERROR
 * untouched), or -1 with ERROR set.
 */
static int
private_open(const char *path, struct stat *st, GError **error)
{
	/* No symlinks (the file checked must be the file named), and no hanging on a FIFO. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -2;
	if (fd < 0 && errno == ELOOP) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s is a symbolic link; it must be a regular file", path);
		return -1;
	}
	if (fd < 0) {
		set_errno_error(error, errno, "cannot open", path);
		return -1;
	}
	if (fstat(fd, st) < 0) {
		set_errno_error(error, errno, "cannot stat", path);
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s is not a regular file", path);
		goto fail;
	}
	if (st->st_uid != geteuid()) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s is owned by uid %u; it must belong to uid %u, which ektpd "
			    "runs as",
			    path, (unsigned)st->st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (st->st_mode & 077) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s has mode %04o: group and others must have no access "
			    "(chmod 600)",
			    path, (unsigned)(st->st_mode & 07777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Loads the key at PATH into OUT.  0, 1 when PATH does not exist, -1 with ERROR. */
static int
keyfile_load(const char *path, uint8_t out[CRYPTO_KEY_LEN], GError **error)
{
	struct stat st;
	int fd = private_open(path, &st, error);
	if (fd == -2)
		return 1;
	if (fd < 0)
		return -1;

	uint8_t file[CRYPTO_KEYFILE_LEN + 1], want[CRYPTO_KEYFILE_LEN];
	int ret = -1;
	/* Read one byte more than a key file holds, so a file that grew is caught too. */
	ssize_t got = st.st_size == CRYPTO_KEYFILE_LEN ? read_full(fd, file, sizeof file) : 0;
	if (got < 0) {
		set_errno_error(error, errno, "cannot read", path);
		goto out;
	}
	if (st.st_size != CRYPTO_KEYFILE_LEN || got != CRYPTO_KEYFILE_LEN) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s is %" G_GINT64_FORMAT
			    " bytes; a key file is exactly %d bytes",
			    path, got > 0 ? (gint64)got : (gint64)st.st_size, CRYPTO_KEYFILE_LEN);
		goto out;
	}
	if (memcmp(file, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN) != 0) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s does not start with \"" KEYFILE_MAGIC
			    "\": not an ektp workstation key",
			    path);
		goto out;
	}
	keyfile_build(file + KEYFILE_MAGIC_LEN, want);
	if (!crypto_equal(file, want, CRYPTO_KEYFILE_LEN)) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s is damaged: its check value does not match the key", path);
		goto out;
	}
	memcpy(out, file + KEYFILE_MAGIC_LEN, CRYPTO_KEY_LEN);
	ret = 0;
out:
	crypto_wipe(file, sizeof file);
	crypto_wipe(want, sizeof want);
	close(fd);
	return ret;
}

/* fsync()s the directory holding PATH, so a new name in it survives a crash. */
static int
sync_dir_of(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		set_errno_error(error, errno, "cannot sync its directory", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Creates PATH holding a fresh key, also put in OUT.  0, 1 when PATH appeared
 * meanwhile (nothing made), -1 with ERROR.
 */
static int
keyfile_create(const char *path, uint8_t out[CRYPTO_KEY_LEN], GError **error)
{
	g_autofree char *tmp = g_strconcat(path, ".new-XXXXXX", NULL);
	uint8_t key[CRYPTO_KEY_LEN], file[CRYPTO_KEYFILE_LEN];
	int ret = -1;

	if (crypto_random(key, sizeof key) < 0) {
		set_openssl_error(error, "random key");
		return -1;
	}
	keyfile_build(key, file);

	/* mkstemp: O_CREAT|O_EXCL, so the temporary is ours alone from the start. */
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_errno_error(error, errno, "cannot create a temporary file beside it", path);
		goto out;
	}
	/* 0600 whatever the umask. */
	if (fchmod(fd, 0600) < 0 || write_full(fd, file, sizeof file) < 0 || fsync(fd) < 0) {
		set_errno_error(error, errno, "cannot write", tmp);
		close(fd);
		g_unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		set_errno_error(error, errno, "cannot write", tmp);
		g_unlink(tmp);
		goto out;
	}
	/* link() never replaces: PATH appears whole, or not at all if someone beat us to it. */
	if (link(tmp, path) < 0) {
		int err = errno;
		g_unlink(tmp);
		if (err == EEXIST) {
			ret = 1;
			goto out;
		}
		set_errno_error(error, err, "cannot create", path);
		goto out;
	}
	g_unlink(tmp);
	if (sync_dir_of(path, error) < 0)
		goto out;
	memcpy(out, key, CRYPTO_KEY_LEN);
	ret = 0;
out:
	crypto_wipe(key, sizeof key);
	crypto_wipe(file, sizeof file);
	return ret;
}

int
crypto_keyfile_load_or_create(const char *path, uint8_t out_key[CRYPTO_KEY_LEN], gboolean *created,
			      GError **error)
{
	g_return_val_if_fail(path != NULL, -1);
	memset(out_key, 0, CRYPTO_KEY_LEN);
	if (created)
		*created = FALSE;
	/* Twice at most: when another process creates it under us, load theirs. */
	for (int attempt = 0; attempt < 2; attempt++) {
		int r = keyfile_load(path, out_key, error);
		if (r <= 0)
			return r;
		r = keyfile_create(path, out_key, error);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (created)
				*created = TRUE;
			return 0;
		}
	}
	g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO,
		    "key file %s keeps appearing and disappearing", path);
	return -1;
}

static void
wipe_and_free(gpointer p)
{
	gsize *block = (gsize *)p - 1; /* the length is kept just before the bytes */
	crypto_wipe(block, *block + sizeof *block);
	g_free(block);
}

GBytes *
crypto_private_file_read(const char *path, size_t max_len, GError **error)
{
	g_return_val_if_fail(path != NULL, NULL);
	struct stat st;
	int fd = private_open(path, &st, error);
	if (fd == -2) {
		set_errno_error(error, ENOENT, "cannot open", path);
		return NULL;
	}
	if (fd < 0)
		return NULL;
	GBytes *ret = NULL;
	if (st.st_size < 0 || (guint64)st.st_size > max_len) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s is %" G_GINT64_FORMAT " bytes; at most %zu are accepted",
			    path, (gint64)st.st_size, max_len);
		goto out;
	}
	/* The length first, so the free function knows how much to wipe. */
	size_t cap = (size_t)st.st_size + 1;
	gsize *block = g_malloc(sizeof(gsize) + cap);
	*block = cap;
	uint8_t *buf = (uint8_t *)(block + 1);
	/* One byte more than its size, so a file that grew since fstat is caught. */
	ssize_t got = read_full(fd, buf, cap);
	if (got < 0 || (size_t)got != (size_t)st.st_size) {
		if (got < 0)
			set_errno_error(error, errno, "cannot read", path);
		else
			g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO,
				    "key file %s changed size while it was read", path);
		wipe_and_free(buf);
		goto out;
	}
	ret = g_bytes_new_with_free_func(buf, (gsize)got, wipe_and_free, buf);
out:
	close(fd);
	return ret;
}
