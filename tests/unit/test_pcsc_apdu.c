/* SPDX-License-Identifier: MIT */
/*
 * The PC/SC encoder's pure parts, byte for byte: every command APDU it sends
 * (checked against ISO 7816-4 as written out here, not against the driver's
 * own constants), the limits of short APDUs, status-word meanings and the
 * GET RESPONSE / wrong-Le follow-ups, FCP size parsing, chunking, the checks
 * on a chip image, how PC/SC return codes are classified, and how a reader is
 * picked by name.  The driver against pcscd and a virtual chip is tested in
 * tests/regress/t_pcsc.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first. */
#include <cmocka.h>

#include <PCSC/pcsclite.h>
#include <string.h>

#include "drivers/pcsc/pcsc.h"

#define assert_apdu(a, ...)                                                                        \
	do {                                                                                       \
		const uint8_t want_[] = { __VA_ARGS__ };                                           \
		assert_int_equal((a).len, sizeof want_);                                           \
		assert_memory_equal((a).b, want_, sizeof want_);                                   \
	} while (0)

static const uint8_t lds_aid[] = { 0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01 };

static void
test_select(void **state)
{
	(void)state;
	PcscApdu a;
	assert_int_equal(pcsc_apdu_select_mf(&a), 0);
	assert_apdu(a, 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x3f, 0x00);
	assert_int_equal(pcsc_apdu_select_aid(&a, lds_aid, sizeof lds_aid), 0);
	assert_apdu(a, 0x00, 0xa4, 0x04, 0x0c, 0x07, 0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01);
	assert_int_equal(pcsc_apdu_select_ef(&a, 0x011e, FALSE), 0);
	assert_apdu(a, 0x00, 0xa4, 0x02, 0x0c, 0x02, 0x01, 0x1e);
	/* With the FCP: case 4, Le 00 (up to 256 bytes). */
	assert_int_equal(pcsc_apdu_select_ef(&a, 0x0101, TRUE), 0);
	assert_apdu(a, 0x00, 0xa4, 0x02, 0x04, 0x02, 0x01, 0x01, 0x00);
	/* An AID has 1 to 16 bytes; A is left alone when refused. */
	uint8_t big[17] = { 0 };
	a.len = 99;
	assert_int_equal(pcsc_apdu_select_aid(&a, big, 17), -1);
	assert_int_equal(pcsc_apdu_select_aid(&a, big, 0), -1);
	assert_int_equal(a.len, 99);
	assert_int_equal(pcsc_apdu_select_aid(&a, big, 16), 0);
	assert_int_equal(a.len, 5 + 16);
}

static void
test_create_delete(void **state)
{
	(void)state;
	PcscApdu a;
	assert_int_equal(pcsc_apdu_create_ef(&a, 0x0102, 4096), 0);
	/* FCP 62 0B: size 80 02 1000, descriptor 82 01 01 (transparent EF), FID 83 02 0102. */
	assert_apdu(a, 0x00, 0xe0, 0x00, 0x00, 0x0d, 0x62, 0x0b, 0x80, 0x02, 0x10, 0x00, 0x82, 0x01,
		    0x01, 0x83, 0x02, 0x01, 0x02);
	assert_int_equal(pcsc_apdu_create_ef(&a, 0x0101, 0), 0);
	assert_int_equal(a.b[9], 0x00);
	assert_int_equal(a.b[10], 0x00);
	assert_int_equal(pcsc_apdu_create_ef(&a, 0x0101, 65535), 0);
	assert_int_equal(pcsc_apdu_create_ef(&a, 0x0101, 65536), -1);
	assert_int_equal(pcsc_apdu_create_df(&a, lds_aid, sizeof lds_aid), 0);
	/* FCP 62 0C: descriptor 82 01 38 (DF), name 84 07 AID. */
	assert_apdu(a, 0x00, 0xe0, 0x00, 0x00, 0x0e, 0x62, 0x0c, 0x82, 0x01, 0x38, 0x84, 0x07, 0xa0,
		    0x00, 0x00, 0x02, 0x47, 0x10, 0x01);
	assert_int_equal(pcsc_apdu_create_df(&a, lds_aid, 0), -1);
	assert_int_equal(pcsc_apdu_delete_ef(&a, 0x011b), 0);
	assert_apdu(a, 0x00, 0xe4, 0x02, 0x00, 0x02, 0x01, 0x1b);
}

static void
test_binary(void **state)
{
	(void)state;
	PcscApdu a;
	const uint8_t data[] = { 0x61, 0x5b, 0x5f, 0x1f };
	assert_int_equal(pcsc_apdu_update_binary(&a, 0x1e0, data, sizeof data), 0);
	/* Case 3: no Le byte after the data. */
	assert_apdu(a, 0x00, 0xd6, 0x01, 0xe0, 0x04, 0x61, 0x5b, 0x5f, 0x1f);
	assert_int_equal(pcsc_apdu_read_binary(&a, 0x7fff, 240), 0);
	assert_apdu(a, 0x00, 0xb0, 0x7f, 0xff, 0xf0);
	assert_int_equal(pcsc_apdu_read_binary(&a, 0, 256), 0);
	assert_apdu(a, 0x00, 0xb0, 0x00, 0x00, 0x00);
	assert_int_equal(pcsc_apdu_get_response(&a, 0x40), 0);
	assert_apdu(a, 0x00, 0xc0, 0x00, 0x00, 0x40);
	assert_int_equal(pcsc_apdu_get_uid(&a), 0);
	assert_apdu(a, 0xff, 0xca, 0x00, 0x00, 0x00);

	/* Short APDUs: 255 bytes out, 256 in, 15-bit offsets (P1 bit 8 means an SFI). */
	uint8_t big[256] = { 0 };
	assert_int_equal(pcsc_apdu_update_binary(&a, 0, big, 255), 0);
	assert_int_equal(a.len, 5 + 255);
	assert_int_equal(a.b[4], 0xff);
	assert_int_equal(pcsc_apdu_update_binary(&a, 0, big, 256), -1);
	assert_int_equal(pcsc_apdu_update_binary(&a, 0, big, 0), -1);
	assert_int_equal(pcsc_apdu_update_binary(&a, 0x8000, big, 1), -1);
	assert_int_equal(pcsc_apdu_read_binary(&a, 0x8000, 1), -1);
	assert_int_equal(pcsc_apdu_read_binary(&a, 0, 257), -1);
	assert_int_equal(pcsc_apdu_read_binary(&a, 0, 0), -1);
	assert_int_equal(pcsc_apdu_get_response(&a, 0), -1);
	assert_true(PCSC_APDU_MAX >= 5 + 255 + 1);
}

static void
test_sw(void **state)
{
	(void)state;
	assert_string_equal(pcsc_sw_meaning(0x9000), "success");
	assert_string_equal(pcsc_sw_meaning(0x6a84), "not enough memory space in the file");
	assert_string_equal(pcsc_sw_meaning(0x6581), "memory failure");
	assert_string_equal(pcsc_sw_meaning(0x6a82), "file or application not found");
	assert_string_equal(pcsc_sw_meaning(0x6982), "security status not satisfied");
	assert_string_equal(pcsc_sw_meaning(0x6282),
			    "warning: end of file reached before reading Le bytes");
	assert_non_null(strstr(pcsc_sw_meaning(0x6110), "GET RESPONSE"));
	assert_non_null(strstr(pcsc_sw_meaning(0x6c08), "wrong Le"));
	assert_non_null(strstr(pcsc_sw_meaning(0x63c2), "counter"));
	assert_string_equal(pcsc_sw_meaning(0x6a42), "wrong parameters"); /* by SW1 */
	assert_string_equal(pcsc_sw_meaning(0x1234), "unknown status");

	size_t le = 0;
	assert_int_equal(pcsc_sw_action(0x9000, &le), PCSC_SW_DONE);
	assert_int_equal(pcsc_sw_action(0x6a84, &le), PCSC_SW_DONE);
	assert_int_equal(pcsc_sw_action(0x6282, &le), PCSC_SW_DONE);
	assert_int_equal(pcsc_sw_action(0x618c, &le), PCSC_SW_GET_RESPONSE);
	assert_int_equal(le, 0x8c);
	assert_int_equal(pcsc_sw_action(0x6100, &le), PCSC_SW_GET_RESPONSE);
	assert_int_equal(le, 256);
	assert_int_equal(pcsc_sw_action(0x6c07, &le), PCSC_SW_RESEND);
	assert_int_equal(le, 7);
}

static void
test_fcp(void **state)
{
	(void)state;
	size_t size = 0;
	/* As tests/emu/vchip answers: 80 size, 82 descriptor, 83 FID, 8A life cycle. */
	const uint8_t ef[] = { 0x62, 0x10, 0x80, 0x02, 0x08, 0x00, 0x82, 0x01,
			       0x01, 0x83, 0x02, 0x01, 0x01, 0x8a, 0x01, 0x05 };
	assert_int_equal(pcsc_fcp_size(ef, sizeof ef, &size), 0);
	assert_int_equal(size, 2048);
	/* 81 (with structural bytes) only when 80 is missing; 80 wins wherever it is. */
	const uint8_t only81[] = { 0x62, 0x05, 0x81, 0x03, 0x01, 0x00, 0x00 };
	assert_int_equal(pcsc_fcp_size(only81, sizeof only81, &size), 0);
	assert_int_equal(size, 65536);
	const uint8_t both[] = { 0x62, 0x08, 0x81, 0x02, 0x09, 0x00, 0x80, 0x02, 0x08, 0x00 };
	assert_int_equal(pcsc_fcp_size(both, sizeof both, &size), 0);
	assert_int_equal(size, 2048);
	/* An FCI template 6F is read the same way. */
	const uint8_t fci[] = { 0x6f, 0x04, 0x80, 0x02, 0x00, 0x10 };
	assert_int_equal(pcsc_fcp_size(fci, sizeof fci, &size), 0);
	assert_int_equal(size, 16);
	/* No size, not a template, a TLV running past the end: no answer. */
	const uint8_t df[] = { 0x62, 0x03, 0x82, 0x01, 0x38 };
	assert_int_equal(pcsc_fcp_size(df, sizeof df, &size), -1);
	const uint8_t other[] = { 0x64, 0x04, 0x80, 0x02, 0x00, 0x10 };
	assert_int_equal(pcsc_fcp_size(other, sizeof other, &size), -1);
	const uint8_t cut[] = { 0x62, 0x04, 0x80, 0x05, 0x00, 0x10 };
	assert_int_equal(pcsc_fcp_size(cut, sizeof cut, &size), -1);
	assert_int_equal(pcsc_fcp_size(ef, 1, &size), -1);
}

static void
test_chunks(void **state)
{
	(void)state;
	assert_int_equal(pcsc_chunk_count(8244, 240), 35);
	assert_int_equal(pcsc_chunk_count(2048, 256), 8);
	assert_int_equal(pcsc_chunk_count(0, 240), 0);
	assert_int_equal(pcsc_chunk_count(1, 1), 1);
	assert_int_equal(pcsc_chunk_len(2048, 0, 240), 240);
	assert_int_equal(pcsc_chunk_len(2048, 1920, 240), 128);
	assert_int_equal(pcsc_chunk_len(2048, 2048, 240), 0);
	assert_int_equal(pcsc_chunk_len(2048, 0, 0), 0);
	/* Every byte in exactly one chunk, for awkward sizes too. */
	const size_t lens[] = { 1, 17, 239, 240, 241, 4096, PCSC_FILE_MAX };
	const size_t chunks[] = { 1, 7, 17, 240, 255 };
	for (size_t l = 0; l < G_N_ELEMENTS(lens); l++) {
		for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
			size_t sum = 0, n = 0;
			for (size_t off = 0; off < lens[l]; off += chunks[c], n++) {
				size_t k = pcsc_chunk_len(lens[l], off, chunks[c]);
				assert_true(k >= 1 && k <= chunks[c]);
				assert_true(off <= PCSC_OFFSET_MAX);
				sum += k;
			}
			assert_int_equal(sum, lens[l]);
			assert_int_equal(n, pcsc_chunk_count(lens[l], chunks[c]));
		}
	}
}

static void
test_chip_check(void **state)
{
	(void)state;
	uint8_t data[16] = { 0 };
	HalChipFile files[] = { { 0x0101, data, 16 }, { 0x011e, data, 0 } };
	HalChip chip = { lds_aid, sizeof lds_aid, files, 2 };
	GError *e = NULL;
	assert_int_equal(pcsc_chip_check(&chip, &e), 0);
	const uint16_t reserved[] = { 0x3f00, 0x3fff, 0xffff };
	for (size_t i = 0; i < G_N_ELEMENTS(reserved); i++) {
		files[1].fid = reserved[i];
		assert_int_equal(pcsc_chip_check(&chip, &e), -1);
		assert_non_null(strstr(e->message, "reserved"));
		g_clear_error(&e);
	}
	files[1].fid = 0x0101;
	assert_int_equal(pcsc_chip_check(&chip, &e), -1);
	assert_non_null(strstr(e->message, "EF 0101 appears twice"));
	g_clear_error(&e);
	files[1].fid = 0x0102;
	files[1].len = PCSC_FILE_MAX + 1;
	assert_int_equal(pcsc_chip_check(&chip, &e), -1);
	assert_non_null(strstr(e->message, "EF 0102"));
	g_clear_error(&e);
	files[1].len = 0;
	chip.aid_len = 0;
	assert_int_equal(pcsc_chip_check(&chip, &e), -1);
	g_clear_error(&e);
	chip.aid_len = 17;
	assert_int_equal(pcsc_chip_check(&chip, &e), -1);
	g_clear_error(&e);
}

static void
test_rv(void **state)
{
	(void)state;
	assert_int_equal(pcsc_rv_kind(SCARD_S_SUCCESS), PCSC_RV_OK);
	assert_int_equal(pcsc_rv_kind(SCARD_E_NO_SMARTCARD), PCSC_RV_NO_CARD);
	assert_int_equal(pcsc_rv_kind(SCARD_W_REMOVED_CARD), PCSC_RV_NO_CARD);
	assert_int_equal(pcsc_rv_kind(SCARD_E_NOT_TRANSACTED), PCSC_RV_CARD_LOST);
	assert_int_equal(pcsc_rv_kind(SCARD_W_RESET_CARD), PCSC_RV_CARD_LOST);
	assert_int_equal(pcsc_rv_kind(SCARD_E_NO_SERVICE), PCSC_RV_SERVICE);
	assert_int_equal(pcsc_rv_kind(SCARD_E_SERVICE_STOPPED), PCSC_RV_SERVICE);
	assert_int_equal(pcsc_rv_kind(SCARD_E_INVALID_HANDLE), PCSC_RV_SERVICE);
	assert_int_equal(pcsc_rv_kind(SCARD_F_COMM_ERROR), PCSC_RV_SERVICE);
	assert_int_equal(pcsc_rv_kind(SCARD_E_UNKNOWN_READER), PCSC_RV_READER_GONE);
	assert_int_equal(pcsc_rv_kind(SCARD_E_READER_UNAVAILABLE), PCSC_RV_READER_GONE);
	assert_int_equal(pcsc_rv_kind(SCARD_E_SHARING_VIOLATION), PCSC_RV_SHARING);
	assert_int_equal(pcsc_rv_kind(SCARD_E_TIMEOUT), PCSC_RV_OTHER);
	assert_string_equal(pcsc_rv_name(SCARD_E_NO_SERVICE), "SCARD_E_NO_SERVICE");
	assert_string_equal(pcsc_rv_name(SCARD_W_REMOVED_CARD), "SCARD_W_REMOVED_CARD");
	assert_string_equal(pcsc_rv_name(0x12345), "SCARD_?");
}

static void
test_pick_reader(void **state)
{
	(void)state;
	/* pcsc-lite's multi-string: names, each NUL-ended, then one more NUL. */
	static const char readers[] = "Virtual PCD 00 00\0Virtual PCD 00 01\0"
				      "HID OMNIKEY 5422 [OMNIKEY 5422CL Smartcard Reader] 01 00\0";
	size_t len = sizeof readers; /* with the final NUL */
	int n = -1;
	assert_string_equal(pcsc_pick_reader(readers, len, "Virtual PCD 00 01", &n),
			    "Virtual PCD 00 01");
	assert_int_equal(n, 1);
	assert_string_equal(pcsc_pick_reader(readers, len, "5422CL", &n),
			    "HID OMNIKEY 5422 [OMNIKEY 5422CL Smartcard Reader] 01 00");
	/* Never "the first one": a part two readers share is refused. */
	assert_null(pcsc_pick_reader(readers, len, "Virtual PCD", &n));
	assert_int_equal(n, 2);
	assert_null(pcsc_pick_reader(readers, len, "Gemalto", &n));
	assert_int_equal(n, 0);
	assert_null(pcsc_pick_reader(readers, len, "", &n));
	assert_null(pcsc_pick_reader(NULL, 0, "Virtual PCD 00 00", &n));
	assert_int_equal(n, 0);
}

static const HalOption *
option(const char *name)
{
	for (const HalOption *o = pcsc_driver.options; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static void
test_driver_table(void **state)
{
	(void)state;
	assert_int_equal(pcsc_driver.abi, HAL_ABI_VERSION);
	assert_string_equal(pcsc_driver.name, "pcsc");
	assert_int_equal(pcsc_driver.klass, HAL_CLASS_ENCODER);
	assert_true(pcsc_driver.caps & HAL_CAP_ENCODE);
	assert_false(pcsc_driver.caps & HAL_CAP_FAULTS);
	assert_non_null(pcsc_driver.encode);
	assert_non_null(pcsc_driver.status);
	assert_null(pcsc_driver.capture);
	assert_null(option("reader")->def); /* required */
	assert_string_equal(option("chunk")->def, "240");
	assert_int_equal(option("chunk")->min, 1);
	assert_int_equal(option("chunk")->max, 255);
	assert_non_null(option("apdu_timeout"));
	assert_non_null(option("create_files"));
	GError *e = NULL;
	assert_int_equal(pcsc_driver.check_option("protocol", "t1", &e), 0);
	assert_int_equal(pcsc_driver.check_option("protocol", "t2", &e), -1);
	assert_non_null(strstr(e->message, "t2"));
	g_clear_error(&e);
	assert_int_equal(pcsc_driver.check_option("reader", "", &e), -1);
	g_clear_error(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),      cmocka_unit_test(test_create_delete),
		cmocka_unit_test(test_binary),      cmocka_unit_test(test_sw),
		cmocka_unit_test(test_fcp),         cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_chip_check),  cmocka_unit_test(test_rv),
		cmocka_unit_test(test_pick_reader), cmocka_unit_test(test_driver_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
