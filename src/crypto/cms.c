/* SPDX-License-Identifier: MIT */
/*
 * Signing the chip's data: the document signer loaded from PEM files, CMS
 * SignedData over OpenSSL's CMS API, the LDS security object of ICAO 9303-10
 * through OpenSSL's ASN.1 templates (so its DER is written and parsed by the
 * same well-tested code as certificates, not by hand), and the test PKI the
 * daemon makes for itself when no keys are configured.
 *
 * Everything about trust is left to OpenSSL's verifier, as `openssl cms
 * -verify` would run it: the chain to the CA, validity dates, key usage and
 * the S/MIME signing purpose.  What this file adds is strictness about form
 * (one DER structure and nothing after it, the content type we expect,
 * exactly one signer) and errors whose code tells a forged signature from an
 * untrusted signer from a file that is not ours at all.
 */
#include "crypto/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* OpenSSL's queue, first error first, as one line (then emptied). */
static char *
openssl_why(void)
{
	GString *s = g_string_new(NULL);
	unsigned long e;
	const char *data = NULL;
	int flags = 0;
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		const char *r = ERR_reason_error_string(e);
		if (s->len)
			g_string_append(s, "; ");
		g_string_append(s, r ? r : "unknown OpenSSL error");
		if (data && *data && (flags & ERR_TXT_STRING))
			g_string_append_printf(s, " (%s)", data);
	}
	if (!s->len)
		g_string_append(s, "unknown OpenSSL error");
	return g_string_free(s, FALSE);
}

static void
set_openssl_error(GError **error, int code, const char *what)
{
	g_autofree char *why = openssl_why();
	g_set_error(error, CRYPTO_ERROR, code, "%s: %s", what, why);
}

/* NAME as RFC 2253 text with UTF-8 left as it is (caller frees). */
static char *
name_text(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		g_error("out of memory");
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	char *s = g_utf8_make_valid(p ? p : "", n > 0 ? n : 0);
	BIO_free(b);
	return s;
}

/* ---- the document signer ---- */

struct CryptoSigner {
	X509 *cert;
	EVP_PKEY *key;
	char *subject;
	gboolean is_test;
};

void
crypto_signer_free(CryptoSigner *s)
{
	if (!s)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key); /* clears the private key's memory */
	g_free(s->subject);
	g_free(s);
}

gboolean
crypto_signer_is_test(const CryptoSigner *s)
{
	return s->is_test;
}

const char *
crypto_signer_subject(const CryptoSigner *s)
{
	return s->subject;
}

static gboolean
says_test(const char *subject, const char *issuer)
{
	g_autofree char *sub = g_utf8_strdown(subject, -1);
	g_autofree char *iss = g_utf8_strdown(issuer, -1);
	return strstr(sub, "test document signer") || strstr(sub, "not for production") ||
	       strstr(iss, "not for production");
}

/* Never asked: an encrypted key is refused instead of prompting on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The certificate at PATH (the first in the file), or NULL with ERROR set. */
static X509 *
cert_read(const char *path, GError **error)
{
	GStatBuf st;
	if (g_stat(path, &st) < 0) {
		int err = errno;
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "certificate %s: %s", path,
			    g_strerror(err));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CRYPTO_PEM_MAX) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_CERT,
			    "certificate %s is not a regular file of at most %d bytes", path,
			    CRYPTO_PEM_MAX);
		return NULL;
	}
	g_autofree char *text = NULL;
	gsize len = 0;
	GError *e = NULL;
	if (!g_file_get_contents(path, &text, &len, &e)) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "certificate %s: %s", path,
			    e->message);
		g_error_free(e);
		return NULL;
	}
	BIO *b = BIO_new_mem_buf(text, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!x) {
		g_autofree char *why =
			g_strdup_printf("certificate %s is not a PEM certificate", path);
		set_openssl_error(error, CRYPTO_ERROR_CERT, why);
	}
	return x;
}

/* The private key at PATH, read under the key file rules, or NULL with ERROR set. */
static EVP_PKEY *
key_read(const char *path, GError **error)
{
	g_autoptr(GBytes) text = crypto_private_file_read(path, CRYPTO_PEM_MAX, error);
	if (!text)
		return NULL;
	gsize len = 0;
	const char *p = g_bytes_get_data(text, &len);
	if (len && (g_strstr_len(p, (gssize)len, "ENCRYPTED"))) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_KEYFILE,
			    "key file %s is encrypted; ektpd takes an unencrypted key, protected "
			    "by its file mode (0600)",
			    path);
		return NULL;
	}
	BIO *b = BIO_new_mem_buf(p, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!k) {
		g_autofree char *why =
			g_strdup_printf("key file %s is not a PEM private key", path);
		set_openssl_error(error, CRYPTO_ERROR_KEYFILE, why);
	}
	return k;
}

CryptoSigner *
crypto_signer_load(const char *cert_path, const char *key_path, GError **error)
{
	g_return_val_if_fail(cert_path && key_path, NULL);
	CryptoSigner *s = g_new0(CryptoSigner, 1);
	if (!(s->cert = cert_read(cert_path, error)) || !(s->key = key_read(key_path, error)))
		goto fail;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		ERR_clear_error();
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_CERT,
			    "key file %s does not hold the key of certificate %s", key_path,
			    cert_path);
		goto fail;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(s->cert)) >= 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(s->cert)) <= 0) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_CERT,
			    "certificate %s is not valid now (expired, or not yet valid)",
			    cert_path);
		goto fail;
	}
	/* X509_get_extension_flags() also computes the cached key usage. */
	if ((X509_get_extension_flags(s->cert) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(s->cert) & KU_DIGITAL_SIGNATURE)) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_CERT,
			    "certificate %s does not allow digitalSignature in its key usage",
			    cert_path);
		goto fail;
	}
	s->subject = name_text(X509_get_subject_name(s->cert));
	char *issuer = name_text(X509_get_issuer_name(s->cert));
	s->is_test = says_test(s->subject, issuer);
	g_free(issuer);
	return s;
fail:
	crypto_signer_free(s);
	return NULL;
}

/* ---- a test PKI ---- */

#define TEST_ORG "ektp TEST KEYS"
#define TEST_DAYS 3650
#define TEST_BACKDATE_SECONDS 3600

static const char test_label[] =
	"ektp TEST key material \xe2\x80\x94 NOT FOR PRODUCTION.  Made by ektpd because no\n"
	"document signer was configured; nothing it signs is a valid e-KTP.\n";

static const char test_readme[] =
	"These are TEST keys, NOT FOR PRODUCTION.\n"
	"\n"
	"ektpd made this CA and document signer on its first start because no document\n"
	"signer key and certificate were configured.  Chips signed with them verify only\n"
	"against " CRYPTO_TEST_CA_CERT ", and every certificate here says TEST in its subject.\n"
	"A production workstation is configured with the document signer that Dukcapil\n"
	"issues; then this directory is not used.\n";

/* A fresh EC P-256 key, or NULL. */
static EVP_PKEY *
ec_key_new(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/*
 * A certificate for KEY named CN, signed by ISSUER_KEY under ISSUER's name
 * (both NULL: self-signed, a CA).  NULL when OpenSSL fails.
 */
static X509 *
cert_make(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key)
{
	gboolean ca = issuer == NULL;
	X509 *x = X509_new();
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	X509V3_CTX ctx;
	if (!x || crypto_random(serial, sizeof serial) < 0)
		goto fail;
	serial[0] = (serial[0] & 0x7f) | 0x40; /* positive, and 16 bytes long */
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	X509_NAME *name = X509_get_subject_name(x);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -TEST_BACKDATE_SECONDS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TEST_DAYS, 0, NULL) ||
	    !X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8, (const unsigned char *)"ID", -1,
					-1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)TEST_ORG,
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0) ||
	    X509_set_issuer_name(x, ca ? name : X509_get_subject_name(issuer)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, ca ? x : issuer, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints,
		    ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE") < 0 ||
	    add_ext(x, &ctx, NID_key_usage,
		    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") < 0 ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    (!ca && add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0) ||
	    X509_sign(x, ca ? key : issuer_key, EVP_sha256()) <= 0)
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* The test label, then KEY (PKCS#8) or CERT in PEM; caller frees (wipe: it may be a key). */
static GString *
pem_text(EVP_PKEY *key, X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return NULL;
	int ok = key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_bio_X509(b, cert);
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	GString *s = NULL;
	if (ok == 1 && n > 0) {
		s = g_string_new(test_label);
		g_string_append_len(s, p, n);
	}
	BIO_free(b); /* a memory BIO clears its buffer when freed */
	return s;
}

static void
gstring_wipe_free(GString *s)
{
	if (!s)
		return;
	crypto_wipe(s->str, s->allocated_len);
	g_string_free(s, TRUE);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Creates NAME in DIR (which is new and ours) holding N bytes at P, MODE whatever the umask. */
static int
file_create(const char *dir, const char *name, const char *p, size_t n, mode_t mode, GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) < 0 || write_all(fd, p, n) < 0 || fsync(fd) < 0) {
		int err = errno;
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "test PKI %s: cannot write: %s",
			    path, g_strerror(err));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		int err = errno;
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "test PKI %s: cannot write: %s",
			    path, g_strerror(err));
		return -1;
	}
	return 0;
}

static int
dir_sync(const char *dir, GError **error)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int err = errno;
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "test PKI: cannot sync %s: %s",
			    dir, g_strerror(err));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static const char *const test_files[] = { CRYPTO_TEST_CA_CERT, CRYPTO_TEST_CA_KEY,
					  CRYPTO_TEST_DS_CERT, CRYPTO_TEST_DS_KEY,
					  CRYPTO_TEST_README };

/* Removes our temporary directory DIR and the files we may have put there. */
static void
tmp_remove(const char *dir)
{
	for (size_t i = 0; i < G_N_ELEMENTS(test_files); i++) {
		g_autofree char *p = g_build_filename(dir, test_files[i], NULL);
		g_unlink(p);
	}
	g_rmdir(dir);
}

/* Writes the whole test PKI into the new, empty directory TMP. */
static int
test_pki_write(const char *tmp, GError **error)
{
	EVP_PKEY *ca_key = ec_key_new(), *ds_key = ec_key_new();
	X509 *ca = NULL, *ds = NULL;
	GString *text[4] = { NULL };
	int ret = -1;

	if (!ca_key || !ds_key || !(ca = cert_make(ca_key, CRYPTO_TEST_CA_CN, NULL, NULL)) ||
	    !(ds = cert_make(ds_key, CRYPTO_TEST_DS_CN, ca, ca_key)) ||
	    !(text[0] = pem_text(NULL, ca)) || !(text[1] = pem_text(ca_key, NULL)) ||
	    !(text[2] = pem_text(NULL, ds)) || !(text[3] = pem_text(ds_key, NULL))) {
		set_openssl_error(error, CRYPTO_ERROR_FAILED, "making the test PKI");
		goto out;
	}
	static const mode_t modes[4] = { 0644, 0600, 0644, 0600 };
	for (int i = 0; i < 4; i++)
		if (file_create(tmp, test_files[i], text[i]->str, text[i]->len, modes[i], error) <
		    0)
			goto out;
	if (file_create(tmp, CRYPTO_TEST_README, test_readme, strlen(test_readme), 0644, error) <
		    0 ||
	    dir_sync(tmp, error) < 0)
		goto out;
	ret = 0;
out:
	for (int i = 0; i < 4; i++)
		gstring_wipe_free(text[i]);
	X509_free(ca);
	X509_free(ds);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ds_key);
	return ret;
}

/* 1 when DIR exists and holds something, 0 when absent or empty, -1 with ERROR. */
static int
dir_in_use(const char *dir, GError **error)
{
	GStatBuf st;
	if (g_lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		int err = errno;
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "test PKI %s: %s", dir,
			    g_strerror(err));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO,
			    "test PKI %s exists and is not a directory", dir);
		return -1;
	}
	GDir *d = g_dir_open(dir, 0, NULL);
	gboolean empty = d && g_dir_read_name(d) == NULL;
	if (d)
		g_dir_close(d);
	return empty ? 0 : 1;
}

int
crypto_test_pki_create(const char *dir, gboolean *created, GError **error)
{
	g_return_val_if_fail(dir != NULL, -1);
	if (created)
		*created = FALSE;
	int used = dir_in_use(dir, error);
	if (used != 0)
		return used < 0 ? -1 : 0;

	/* Beside DIR, so rename() stays in one file system: "pki/" makes "pki.new-XXXXXX". */
	g_autofree char *base = g_strdup(dir);
	for (size_t n = strlen(base); n > 1 && base[n - 1] == '/'; n--)
		base[n - 1] = '\0';
	g_autofree char *tmp = g_strconcat(base, ".new-XXXXXX", NULL);
	if (!g_mkdtemp_full(tmp, 0700)) {
		int err = errno;
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO,
			    "test PKI %s: cannot make a temporary directory beside it: %s", dir,
			    g_strerror(err));
		return -1;
	}
	if (test_pki_write(tmp, error) < 0)
		goto fail;
	/* Readable by all (the certificates are public; the keys are 0600 inside). */
	if (chmod(tmp, 0755) < 0) {
		int err = errno;
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "test PKI %s: chmod: %s", tmp,
			    g_strerror(err));
		goto fail;
	}
	/* rename() replaces only an empty directory: a PKI made meanwhile is kept. */
	if (rename(tmp, dir) < 0) {
		int err = errno;
		if ((err == EEXIST || err == ENOTEMPTY) && dir_in_use(dir, NULL) == 1) {
			tmp_remove(tmp);
			return 0;
		}
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_IO, "test PKI %s: cannot create: %s",
			    dir, g_strerror(err));
		goto fail;
	}
	char *parent = g_path_get_dirname(dir);
	int synced = dir_sync(parent, error);
	g_free(parent);
	if (synced < 0)
		return -1; /* made, but perhaps not durable: say so rather than pretend */
	if (created)
		*created = TRUE;
	return 0;
fail:
	tmp_remove(tmp);
	return -1;
}

/* ---- CMS ---- */

/* CONTENT_TYPE as an object, or NULL with ERROR set. */
static ASN1_OBJECT *
oid_parse(const char *content_type, GError **error)
{
	ASN1_OBJECT *o = OBJ_txt2obj(content_type, 1);
	if (!o) {
		ERR_clear_error();
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FAILED,
			    "\"%s\" is not a dotted object identifier", content_type);
	}
	return o;
}

GBytes *
crypto_cms_sign(const CryptoSigner *signer, const char *content_type, const void *content,
		size_t len, GError **error)
{
	g_return_val_if_fail(signer && content_type && (content || len == 0), NULL);
	if (len > INT_MAX) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FAILED,
			    "CMS content of %zu bytes is too long", len);
		return NULL;
	}
	ASN1_OBJECT *oid = oid_parse(content_type, error);
	if (!oid)
		return NULL;
	GBytes *ret = NULL;
	unsigned char *der = NULL;
	BIO *in = BIO_new_mem_buf(content, (int)len);
	/* PARTIAL: an empty SignedData to set the content type on before the signer signs. */
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_BINARY | CMS_PARTIAL);
	if (!in || !cms || CMS_set1_eContentType(cms, oid) != 1 ||
	    !CMS_add1_signer(cms, signer->cert, signer->key, EVP_sha256(),
			     CMS_BINARY | CMS_NOSMIMECAP) ||
	    CMS_final(cms, in, NULL, CMS_BINARY) != 1) {
		set_openssl_error(error, CRYPTO_ERROR_FAILED, "CMS signing failed");
		goto out;
	}
	int n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0) {
		set_openssl_error(error, CRYPTO_ERROR_FAILED, "CMS encoding failed");
		goto out;
	}
	ret = g_bytes_new(der, (gsize)n);
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	ASN1_OBJECT_free(oid);
	return ret;
}

/* A store holding every certificate in the CA_LEN bytes at CA_PEM, or NULL with ERROR set. */
static X509_STORE *
store_from_pem(const char *ca_pem, size_t ca_len, GError **error)
{
	if (ca_len > INT_MAX) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_CERT, "CA certificates too long");
		return NULL;
	}
	X509_STORE *store = X509_STORE_new();
	BIO *b = BIO_new_mem_buf(ca_pem, (int)ca_len);
	int n = 0;
	X509 *x;
	while (store && b && (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
		int ok = X509_STORE_add_cert(store, x);
		X509_free(x);
		if (ok != 1)
			break;
		n++;
	}
	ERR_clear_error(); /* the end of the PEM text is reported as an error */
	BIO_free(b);
	if (n == 0) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_CERT,
			    "no CA certificate to verify against (no PEM certificate in %zu bytes)",
			    ca_len);
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

/* Sets ERROR for a failed CMS_verify(), telling an untrusted signer from a bad signature. */
static void
set_verify_error(GError **error)
{
	int code = CRYPTO_ERROR_AUTH;
	GString *why = g_string_new(NULL);
	unsigned long e;
	const char *data = NULL;
	int flags = 0;
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (ERR_GET_LIB(e) == ERR_LIB_CMS) {
			int r = ERR_GET_REASON(e);
			if (r == CMS_R_CERTIFICATE_VERIFY_ERROR ||
			    r == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
				code = CRYPTO_ERROR_CERT;
		}
		const char *r = ERR_reason_error_string(e);
		if (why->len)
			g_string_append(why, "; ");
		g_string_append(why, r ? r : "unknown OpenSSL error");
		if (data && *data && (flags & ERR_TXT_STRING))
			g_string_append_printf(why, " (%s)", data);
	}
	g_set_error(error, CRYPTO_ERROR, code, "%s: %s",
		    code == CRYPTO_ERROR_CERT ? "the signer is not trusted"
					      : "the signature does not verify",
		    why->len ? why->str : "unknown OpenSSL error");
	g_string_free(why, TRUE);
}

/*
 * Reads the DER header at *P (at most END) expecting TAG of CLASS; on
 * success *P is at its contents and *LEN their length.  0 or -1.
 */
static int
der_enter(const unsigned char **p, const unsigned char *end, int tag, int cls, long *len)
{
	int t = 0, c = 0;
	if (*p >= end || (ASN1_get_object(p, len, &t, &c, end - *p) & 0x80) || t != tag ||
	    c != cls || *len > end - *p)
		return -1;
	return 0;
}

/* The one-byte INTEGER at *P (advanced past it), or -1. */
static int
der_small_int(const unsigned char **p, const unsigned char *end)
{
	long len = 0;
	if (der_enter(p, end, V_ASN1_INTEGER, V_ASN1_UNIVERSAL, &len) < 0 || len != 1)
		return -1;
	return *(*p)++;
}

/*
 * The two version numbers of a SignedData that no signature covers, and that
 * OpenSSL does not check: SignedData's (RFC 5652 5.1: 3 when the content is
 * not id-data or a signer is named by key identifier, else 1) and the
 * SignerInfo's (1 for issuer and serial, 3 for a key identifier).  Only one
 * signer, and no attribute certificates, as crypto_cms_verify() demands.
 */
static int
versions_check(const unsigned char *der, size_t len, gboolean is_data)
{
	const unsigned char *p = der, *end = der + len;
	long n = 0;
	int t = 0, c = 0;
	if (der_enter(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &n) < 0 ||
	    der_enter(&p, end, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, &n) < 0)
		return -1;
	p += n;
	if (der_enter(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &n) < 0 ||
	    der_enter(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &n) < 0)
		return -1;
	end = p + n;
	int sd_version = der_small_int(&p, end);
	/* digestAlgorithms, encapContentInfo, then certificates [0] and crls [1] if there. */
	for (int skip = 0;; skip++) {
		const unsigned char *q = p;
		if (q >= end || (ASN1_get_object(&q, &n, &t, &c, end - q) & 0x80) || n > end - q)
			return -1;
		if (skip >= 2 && t == V_ASN1_SET && c == V_ASN1_UNIVERSAL)
			break;
		p = q + n;
	}
	if (der_enter(&p, end, V_ASN1_SET, V_ASN1_UNIVERSAL, &n) < 0 ||
	    der_enter(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &n) < 0)
		return -1;
	end = p + n;
	int si_version = der_small_int(&p, end);
	const unsigned char *q = p;
	if (q >= end || (ASN1_get_object(&q, &n, &t, &c, end - q) & 0x80))
		return -1;
	gboolean by_key_id = c == V_ASN1_CONTEXT_SPECIFIC && t == 0;
	if (si_version != (by_key_id ? 3 : 1))
		return -1;
	return sd_version == (is_data && !by_key_id ? 1 : 3) ? 0 : -1;
}

/*
 * What no signature covers but a verifier should still hold to: the
 * versions; the digest algorithm SHA-256; a signature algorithm that names
 * SHA-256 (or plain RSA/PSS, whose parameters carry it); and the signed
 * contentType attribute equal to the eContentType (RFC 5652 11.1; OpenSSL
 * checks neither).  0, or -1 with ERROR set.
 */
static int
form_check(CMS_ContentInfo *cms, const void *der, size_t len, const ASN1_OBJECT *want,
	   GError **error)
{
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	X509_ALGOR *dig = NULL, *sig = NULL;
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	const ASN1_OBJECT *d = NULL, *s = NULL;
	X509_ALGOR_get0(&d, NULL, NULL, dig);
	X509_ALGOR_get0(&s, NULL, NULL, sig);
	int sn = OBJ_obj2nid(s);
	const ASN1_OBJECT *ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType),
							    -3, V_ASN1_OBJECT);
	const char *why = NULL;
	if (OBJ_obj2nid(d) != NID_sha256)
		why = "its digest algorithm is not SHA-256";
	else if (sn != NID_ecdsa_with_SHA256 && sn != NID_sha256WithRSAEncryption &&
		 sn != NID_rsaEncryption && sn != NID_rsassaPss)
		why = "its signature algorithm is not one of ECDSA or RSA with SHA-256";
	else if (!ct || OBJ_cmp(ct, want) != 0)
		why = "its signed content type differs from the content's";
	else if (versions_check(der, len, OBJ_obj2nid(want) == NID_pkcs7_data) < 0)
		why = "its SignedData or SignerInfo version is wrong";
	if (!why)
		return 0;
	ERR_clear_error();
	g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT, "the SignedData is malformed: %s",
		    why);
	return -1;
}

GBytes *
crypto_cms_verify(const void *der, size_t len, const char *content_type, const char *ca_pem,
		  size_t ca_len, char **signer_subject, GError **error)
{
	g_return_val_if_fail((der || len == 0) && content_type && (ca_pem || ca_len == 0), NULL);
	if (signer_subject)
		*signer_subject = NULL;
	ASN1_OBJECT *want = oid_parse(content_type, error);
	if (!want)
		return NULL;
	GBytes *ret = NULL;
	X509_STORE *store = NULL;
	BIO *out = NULL;
	STACK_OF(X509) *signers = NULL;
	const unsigned char *p = der;
	CMS_ContentInfo *cms =
		len > 0 && len <= LONG_MAX ? d2i_CMS_ContentInfo(NULL, &p, (long)len) : NULL;
	if (!cms || p != (const unsigned char *)der + len) {
		ERR_clear_error();
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    cms ? "%zu bytes follow the CMS structure"
				: "not a CMS structure (DER ContentInfo)",
			    len - (size_t)(p - (const unsigned char *)der));
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    "the CMS structure is not SignedData");
		goto out;
	}
	const ASN1_OBJECT *type = CMS_get0_eContentType(cms);
	if (!type || OBJ_cmp(type, want) != 0) {
		char got[128] = "none";
		if (type)
			OBJ_obj2txt(got, sizeof got, type, 1);
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    "the signed content is of type %s, not %s", got, content_type);
		goto out;
	}
	ASN1_OCTET_STRING **content = CMS_get0_content(cms);
	if (!content || !*content) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    "the SignedData does not hold its content (detached)");
		goto out;
	}
	int nsigners = sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms));
	if (nsigners != 1) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT,
			    "the SignedData has %d signers; exactly one is expected", nsigners);
		goto out;
	}
	if (form_check(cms, der, len, want, error) < 0 ||
	    !(store = store_from_pem(ca_pem, ca_len, error)))
		goto out;
	out = BIO_new(BIO_s_mem());
	ERR_clear_error();
	if (!out || CMS_verify(cms, NULL, store, NULL, out, CMS_BINARY) != 1) {
		set_verify_error(error);
		goto out;
	}
	if (signer_subject) {
		signers = CMS_get0_signers(cms);
		X509 *s = signers && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
		*signer_subject = s ? name_text(X509_get_subject_name(s)) : g_strdup("");
	}
	char *data = NULL;
	long n = BIO_get_mem_data(out, &data);
	ret = g_bytes_new(data, n > 0 ? (gsize)n : 0);
out:
	sk_X509_free(signers);
	BIO_free(out);
	X509_STORE_free(store);
	CMS_ContentInfo_free(cms);
	ASN1_OBJECT_free(want);
	return ret;
}

/* ---- the LDS security object ---- */

typedef struct {
	ASN1_INTEGER *number;
	ASN1_OCTET_STRING *hash;
} LdsDgHash;

/* OpenSSL's template macros, which clang-format cannot parse. */
/* clang-format off */
ASN1_SEQUENCE(LdsDgHash) = {
	ASN1_SIMPLE(LdsDgHash, number, ASN1_INTEGER),
	ASN1_SIMPLE(LdsDgHash, hash, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(LdsDgHash)

DEFINE_STACK_OF(LdsDgHash)

typedef struct {
	ASN1_INTEGER *version;
	X509_ALGOR *algorithm;
	STACK_OF(LdsDgHash) *hashes;
} LdsSo;

ASN1_SEQUENCE(LdsSo) = {
	ASN1_SIMPLE(LdsSo, version, ASN1_INTEGER),
	ASN1_SIMPLE(LdsSo, algorithm, X509_ALGOR),
	ASN1_SEQUENCE_OF(LdsSo, hashes, LdsDgHash),
} static_ASN1_SEQUENCE_END(LdsSo)
/* clang-format on */

#define LDS_MIN_GROUPS 2
#define LDS_MAX_GROUPS 16

static void
lds_free(LdsSo *so)
{
	ASN1_item_free((ASN1_VALUE *)so, ASN1_ITEM_rptr(LdsSo));
}

GBytes *
crypto_lds_encode(const CryptoDgHash *h, size_t n, GError **error)
{
	g_return_val_if_fail(h || n == 0, NULL);
	guint seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (n < LDS_MIN_GROUPS || n > LDS_MAX_GROUPS || h[i].dg < 1 ||
		    h[i].dg > LDS_MAX_GROUPS || (seen & (1u << h[i].dg))) {
			g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FAILED,
				    "an LDS security object lists %d to %d distinct groups "
				    "numbered 1 to %d",
				    LDS_MIN_GROUPS, LDS_MAX_GROUPS, LDS_MAX_GROUPS);
			return NULL;
		}
		seen |= 1u << h[i].dg;
	}
	if (n < LDS_MIN_GROUPS) {
		g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FAILED,
			    "an LDS security object lists at least %d groups", LDS_MIN_GROUPS);
		return NULL;
	}

	GBytes *ret = NULL;
	unsigned char *der = NULL;
	LdsSo *so = (LdsSo *)ASN1_item_new(ASN1_ITEM_rptr(LdsSo));
	if (!so || ASN1_INTEGER_set(so->version, 0) != 1 ||
	    X509_ALGOR_set0(so->algorithm, OBJ_nid2obj(NID_sha256), V_ASN1_UNDEF, NULL) != 1)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		LdsDgHash *g = (LdsDgHash *)ASN1_item_new(ASN1_ITEM_rptr(LdsDgHash));
		if (!g || ASN1_INTEGER_set(g->number, h[i].dg) != 1 ||
		    ASN1_OCTET_STRING_set(g->hash, h[i].hash, CRYPTO_SHA256_LEN) != 1 ||
		    sk_LdsDgHash_push(so->hashes, g) <= 0) {
			ASN1_item_free((ASN1_VALUE *)g, ASN1_ITEM_rptr(LdsDgHash));
			goto fail;
		}
	}
	int len = ASN1_item_i2d((ASN1_VALUE *)so, &der, ASN1_ITEM_rptr(LdsSo));
	if (len <= 0)
		goto fail;
	ret = g_bytes_new(der, (gsize)len);
	OPENSSL_free(der);
	lds_free(so);
	return ret;
fail:
	set_openssl_error(error, CRYPTO_ERROR_FAILED, "encoding the LDS security object");
	lds_free(so);
	return NULL;
}

static void *
lds_refuse(GError **error, const char *why)
{
	g_set_error(error, CRYPTO_ERROR, CRYPTO_ERROR_FORMAT, "not an LDS security object: %s",
		    why);
	return NULL;
}

CryptoDgHash *
crypto_lds_decode(const void *der, size_t len, size_t *n, GError **error)
{
	g_return_val_if_fail((der || len == 0) && n, NULL);
	*n = 0;
	const unsigned char *p = der;
	LdsSo *so = len > 0 && len <= LONG_MAX
			    ? (LdsSo *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(LdsSo))
			    : NULL;
	ERR_clear_error();
	if (!so)
		return lds_refuse(error, "its DER does not parse");
	CryptoDgHash *out = NULL;
	unsigned char *again = NULL;
	int again_len = ASN1_item_i2d((ASN1_VALUE *)so, &again, ASN1_ITEM_rptr(LdsSo));
	if (p != (const unsigned char *)der + len || again_len <= 0 || (size_t)again_len != len ||
	    memcmp(again, der, len) != 0) {
		lds_refuse(error, "bytes follow it, or its encoding is not DER");
		goto out;
	}
	int64_t version = -1;
	if (ASN1_INTEGER_get_int64(&version, so->version) != 1 || version != 0) {
		lds_refuse(error, "its version is not 0");
		goto out;
	}
	const ASN1_OBJECT *alg = NULL;
	int ptype = V_ASN1_UNDEF;
	X509_ALGOR_get0(&alg, &ptype, NULL, so->algorithm);
	if (OBJ_obj2nid(alg) != NID_sha256 || (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)) {
		lds_refuse(error, "its hash algorithm is not SHA-256");
		goto out;
	}
	int count = sk_LdsDgHash_num(so->hashes);
	if (count < LDS_MIN_GROUPS || count > LDS_MAX_GROUPS) {
		lds_refuse(error, "it does not list 2 to 16 data groups");
		goto out;
	}
	out = g_new0(CryptoDgHash, (size_t)count);
	guint seen = 0;
	for (int i = 0; i < count; i++) {
		LdsDgHash *g = sk_LdsDgHash_value(so->hashes, i);
		int64_t dg = 0;
		if (ASN1_INTEGER_get_int64(&dg, g->number) != 1 || dg < 1 || dg > LDS_MAX_GROUPS ||
		    (seen & (1u << dg))) {
			lds_refuse(error, "a data group number is outside 1..16 or repeated");
			goto fail;
		}
		seen |= 1u << dg;
		if (ASN1_STRING_length(g->hash) != CRYPTO_SHA256_LEN) {
			lds_refuse(error, "a hash is not 32 bytes");
			goto fail;
		}
		out[i].dg = (int)dg;
		memcpy(out[i].hash, ASN1_STRING_get0_data(g->hash), CRYPTO_SHA256_LEN);
	}
	*n = (size_t)count;
	goto out;
fail:
	g_free(out);
	out = NULL;
out:
	ERR_clear_error();
	OPENSSL_free(again);
	lds_free(so);
	return out;
}
