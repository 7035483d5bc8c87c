/* SPDX-License-Identifier: MIT */
/*
 * The only module that calls OpenSSL: random bytes, SHA-256, PIN hashing with
 * scrypt, constant-time comparison, the encryption of records at rest
 * (crypto.c), and the signing of chip data: a document signer, CMS SignedData,
 * the LDS security object and a test PKI (cms.c).  Later issues add a KDF
 * here, behind the same prefix.
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
	CRYPTO_ERROR_CERT,    /* a certificate is unusable or untrusted: no chain to the CA,
			       * expired, wrong key usage, not the key's certificate */
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

/*
 * Reads the private file at PATH (a PEM private key, say) under the rules of
 * the workstation key file: refused with CRYPTO_ERROR_KEYFILE, naming PATH
 * and the rule, when it is a symbolic link or not a regular file, owned by
 * another user than the effective one, open to group or others in any way
 * (mode & 077), or longer than MAX_LEN bytes.  Returns the contents (caller
 * unrefs; the memory is wiped when the last reference goes) or NULL with
 * ERROR set (CRYPTO_ERROR_IO, with strerror, when it cannot be opened or
 * read).  PATH is borrowed.
 */
GBytes *crypto_private_file_read(const char *path, size_t max_len, GError **error);

/* ---- the document signer (cms.c) ---- */

/*
 * A document signer: an X.509 certificate and its private key, loaded from
 * two PEM files named in the configuration.  It signs the chip's security
 * object.  A signer whose subject says it is a test key (see
 * crypto_signer_is_test) is one the daemon made itself, and everything it
 * signs must be labelled as such.
 */
typedef struct CryptoSigner CryptoSigner;

/* Keys are small; a file much larger than a PEM key or certificate is a mistake. */
#define CRYPTO_PEM_MAX (64 * 1024)

/*
 * Loads the certificate (PEM) at CERT_PATH and the unencrypted private key
 * (PEM, PKCS#8 or the traditional EC/RSA form) at KEY_PATH.  The key file
 * is read by crypto_private_file_read(), so a key open to group or others is
 * refused with CRYPTO_ERROR_KEYFILE.  Also refused, with CRYPTO_ERROR_CERT:
 * a key that is not the certificate's, a certificate outside its validity
 * period now, and one whose key usage (when present) lacks
 * digitalSignature.  An encrypted key is refused (the file mode protects
 * it; a passphrase prompt would hang a daemon).  Returns the signer (caller
 * frees with crypto_signer_free) or NULL with ERROR set.  Paths are
 * borrowed.  Reads files: call it at start-up.
 */
CryptoSigner *crypto_signer_load(const char *cert_path, const char *key_path, GError **error);

/* Frees S (may be NULL); its private key is wiped. */
void crypto_signer_free(CryptoSigner *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CryptoSigner, crypto_signer_free)

/*
 * TRUE when S is a test signer: its subject holds "TEST DOCUMENT SIGNER" or
 * "NOT FOR PRODUCTION", or its issuer holds "NOT FOR PRODUCTION" (case
 * ignored), as the certificates crypto_test_pki_create() makes do.
 */
gboolean crypto_signer_is_test(const CryptoSigner *s);

/* S's certificate subject, RFC 2253 order, UTF-8 (borrowed until S is freed). */
const char *crypto_signer_subject(const CryptoSigner *s);

/* ---- a test PKI (cms.c) ---- */

/* The files in a test PKI directory.  Every name says "test". */
#define CRYPTO_TEST_CA_CERT "test-ca-cert.pem"
#define CRYPTO_TEST_CA_KEY "test-ca-key.pem"
#define CRYPTO_TEST_DS_CERT "test-ds-cert.pem"
#define CRYPTO_TEST_DS_KEY "test-ds-key.pem"
#define CRYPTO_TEST_README "README-TEST-KEYS.txt"

/* The subjects' common names (UTF-8: the dash is U+2014). */
#define CRYPTO_TEST_CA_CN "ektp TEST CA \xe2\x80\x94 NOT FOR PRODUCTION"
#define CRYPTO_TEST_DS_CN "ektp TEST DOCUMENT SIGNER \xe2\x80\x94 NOT FOR PRODUCTION"

/*
 * Makes a test PKI in the directory DIR, unless DIR exists already (then
 * nothing is touched and *CREATED, which may be NULL, is FALSE): a CA (EC
 * P-256 key, self-signed certificate with CN CRYPTO_TEST_CA_CN, O "ektp
 * TEST KEYS", CA:TRUE pathlen 0, keyCertSign and cRLSign) and a document
 * signer (EC P-256, CN CRYPTO_TEST_DS_CN, CA:FALSE, digitalSignature only)
 * certified by it; both valid from an hour ago for ten years, SHA-256,
 * random serials.  Keys are written mode 0600, certificates 0644, each PEM
 * preceded by a line saying it is a test key (PEM readers skip text before
 * the BEGIN line), with a README saying the same.
 *
 * Atomic: the files are written and synced in a temporary directory beside
 * DIR that is then renamed to DIR, so DIR appears whole or not at all; if
 * another process made DIR meanwhile, ours is removed and theirs is kept.
 * Returns 0, or -1 with ERROR set (CRYPTO_ERROR_IO naming the path, or
 * CRYPTO_ERROR_FAILED when OpenSSL fails; nothing is left behind).  DIR is
 * borrowed.  Blocks on fsync: call it at start-up.
 */
int crypto_test_pki_create(const char *dir, gboolean *created, GError **error);

/* ---- CMS SignedData and the LDS security object (cms.c) ---- */

/* ICAO 9303-10 id-icao-mrtd-security-ldsSecurityObject: the eContentType of our SODs. */
#define CRYPTO_OID_LDS_SECURITY_OBJECT "2.23.136.1.1.1"

/*
 * Signs LEN bytes at CONTENT as a CMS SignedData (RFC 5652), DER, with the
 * content encapsulated under eContentType CONTENT_TYPE (a dotted OID):
 * one SignerInfo by SIGNER's key, SHA-256, identified by issuer and serial,
 * signed attributes contentType, messageDigest and signingTime (no S/MIME
 * capabilities), and SIGNER's certificate in the certificates field (not
 * its CA's: the verifier holds that).  Returns the DER (caller unrefs) or
 * NULL with ERROR set.  Arguments are borrowed.
 */
GBytes *crypto_cms_sign(const CryptoSigner *signer, const char *content_type, const void *content,
			size_t len, GError **error);

/*
 * Verifies the CMS SignedData of LEN bytes at DER and returns its
 * encapsulated content (caller unrefs), or NULL with ERROR set:
 *   CRYPTO_ERROR_FORMAT  not one DER SignedData (trailing bytes count), its
 *                        eContentType is not CONTENT_TYPE, no content, not
 *                        exactly one signer; or malformed where no signature
 *                        reaches and OpenSSL does not look: a SignedData or
 *                        SignerInfo version other than RFC 5652 prescribes,
 *                        a digest other than SHA-256, a signature algorithm
 *                        other than ECDSA or RSA with SHA-256, a signed
 *                        contentType attribute that differs from the
 *                        eContentType (so no single bit of the DER can change
 *                        and still verify);
 *   CRYPTO_ERROR_CERT    the signer's certificate (from the SignedData) does
 *                        not chain to a certificate in CA_PEM, is expired,
 *                        or is not fit for signing (the S/MIME signing
 *                        purpose, as `openssl cms -verify` checks it); also
 *                        when CA_PEM holds no certificate;
 *   CRYPTO_ERROR_AUTH    the signature or the content digest does not match.
 * CA_PEM is CA_LEN bytes of one or more PEM certificates, the trust anchors.
 * *SIGNER_SUBJECT (may be NULL) receives the signer's subject as
 * crypto_signer_subject() gives it (caller frees) on success.  Arguments are
 * borrowed.
 */
GBytes *crypto_cms_verify(const void *der, size_t len, const char *content_type, const char *ca_pem,
			  size_t ca_len, char **signer_subject, GError **error);

/* One data group's hash in an LDS security object. */
typedef struct {
	int dg; /* data group number, 1..16 */
	uint8_t hash[CRYPTO_SHA256_LEN];
} CryptoDgHash;

/*
 * The LDS security object of ICAO 9303-10 (version 0), DER:
 *     LDSSecurityObject ::= SEQUENCE {
 *         version             INTEGER (0),
 *         hashAlgorithm       AlgorithmIdentifier (id-sha256 2.16.840.1.101.3.4.2.1,
 *                             parameters absent),
 *         dataGroupHashValues SEQUENCE OF DataGroupHash }
 *     DataGroupHash ::= SEQUENCE {
 *         dataGroupNumber     INTEGER (1..16),
 *         dataGroupHashValue  OCTET STRING (32 bytes: SHA-256 of the whole EF) }
 * crypto_lds_encode() makes it from the N hashes at H (2..16 of them, distinct
 * numbers, written in the order given): the DER (caller unrefs) or NULL with
 * ERROR set (CRYPTO_ERROR_FAILED for bad arguments).  H is borrowed.
 */
GBytes *crypto_lds_encode(const CryptoDgHash *h, size_t n, GError **error);

/*
 * Parses an LDS security object (LEN bytes at DER) strictly: the DER of
 * exactly the structure above (re-encoding gives the same bytes), version 0,
 * SHA-256, 2..16 groups numbered 1..16 without repeats, 32-byte hashes.
 * Returns the hashes in the order written (caller frees with g_free; *N
 * receives their number) or NULL with ERROR set (CRYPTO_ERROR_FORMAT naming
 * what is wrong).  DER is borrowed.
 */
CryptoDgHash *crypto_lds_decode(const void *der, size_t len, size_t *n, GError **error);

#endif
