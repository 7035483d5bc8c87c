#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The chip's security object checked by another implementation.  tests/emu/chipdir
# makes a fresh test PKI and writes the chip image of a synthetic record; then the
# real `openssl cms -verify` accepts SOD.der against the test CA, its eContent is
# ICAO's LDSSecurityObject (version 0, SHA-256) whose hashes equal sha256sum and
# openssl dgst of each DG file, and the files fit 8192 bytes.  A changed DG still
# has a valid SOD but no longer matches its hash (and chipdata_verify names it); a
# changed SOD, or the CA of another PKI, is refused by openssl itself.  A capacity
# too small is refused, naming the bytes over, before anything is written.
. "$(dirname "$0")/lib.sh"
setup
CHIPDIR="${EKTP_EMU_DIR:-$top/build/default/emu}/chipdir"
PKI="$T/pki"
CHIP="$T/chip"
CA="$PKI/test-ca-cert.pem"

cms_verify() { # SOD CAFILE: openssl's verdict, the content to $T/econtent.bin
	openssl cms -verify -inform DER -in "$1" -CAfile "$2" -out "$T/econtent.bin" \
		2>>"$T/openssl.log"
}
cms_refused() { ! cms_verify "$@"; }

# flip FILE OFFSET: changes one bit of the byte at OFFSET, in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# lds_hashes: "DG HASH" per line from $T/econtent.bin, as openssl asn1parse reads it.
lds_hashes() {
	openssl asn1parse -inform DER -in "$T/econtent.bin" |
		awk '/d=3 .*INTEGER/ { sub(/.*:/, ""); dg = $0 }
		     /d=3 .*OCTET STRING/ { sub(/.*\[HEX DUMP\]:/, ""); print dg, tolower($0) }' |
		while read -r dg hash; do echo "$((16#$dg)) $hash"; done
}

# mismatches: the DG numbers whose file's SHA-256 is not the one in the security object.
mismatches() {
	local dg hash list=""
	while read -r dg hash; do
		[ "$(sha256sum <"$CHIP/DG$dg.bin" | cut -d' ' -f1)" = "$hash" ] || list="$list$dg "
	done < <(lds_hashes)
	echo "$list"
}

out=$("$CHIPDIR" make "$PKI" "$CHIP" 8192 2>&1)
is "chipdir writes a chip image signed by a fresh test PKI" "$?" 0
printf '%s\n' "$out" | sed 's/^/# /'
like "its fit is reported, within 8192 bytes, by a test signer" "$out" \
	"^portrait [0-9]+x[0-9]+ q[0-9]+ signature 160x60 q50 total [0-9]+ capacity 8192 test 1"
total=$(printf '%s' "$out" | sed -n 's/.* total \([0-9]*\) .*/\1/p')
on_disk=$(cat "$CHIP"/COM.bin "$CHIP"/DG1.bin "$CHIP"/DG2.bin "$CHIP"/DG3.bin "$CHIP"/DG7.bin \
	"$CHIP"/SOD.der | wc -c)
# EF.SOD on the chip is SOD.der inside tag 77 and a 3-byte length.
is "the files on disk are the reported total (less EF.SOD's 4-byte tag and length)" \
	"$((on_disk + 4))" "$total"
check "the total fits the e-KTP's 8 KB" test "$total" -le 8192
is "the document signer's key is mode 0600" "$(stat -c %a "$PKI/test-ds-key.pem")" 600
is "the CA's key is mode 0600" "$(stat -c %a "$PKI/test-ca-key.pem")" 600
is "the certificates are mode 0644" "$(stat -c %a "$PKI/test-ca-cert.pem" "$PKI/test-ds-cert.pem" |
	tr '\n' ' ')" "644 644 "
like "the CA says it is a test CA" \
	"$(openssl x509 -in "$CA" -noout -subject -nameopt utf8,sep_comma_plus_space)" \
	"CN ?= ?ektp TEST CA — NOT FOR PRODUCTION"
like "the signer says it is a test document signer" \
	"$(openssl x509 -in "$PKI/test-ds-cert.pem" -noout -subject -nameopt utf8)" \
	"TEST DOCUMENT SIGNER — NOT FOR PRODUCTION"
check "openssl verifies the test signer's certificate against the test CA" \
	bash -c "openssl verify -CAfile '$CA' -purpose smimesign '$PKI/test-ds-cert.pem' >/dev/null"

check "openssl cms -verify accepts SOD.der against the test CA" cms_verify "$CHIP/SOD.der" "$CA"
like "its eContentType is id-icao-mrtd-security-ldsSecurityObject" \
	"$(openssl cms -cmsout -print -inform DER -in "$CHIP/SOD.der")" \
	"eContentType: .*\(2\.23\.136\.1\.1\.1\)"
asn=$(openssl asn1parse -inform DER -in "$T/econtent.bin")
like "the eContent is an LDSSecurityObject of version 0" "$asn" \
	"d=1 +hl=2 l= +1 prim: INTEGER +:00"
like "hashed with SHA-256" "$asn" "d=2 +hl=2 l= +9 prim: OBJECT +:sha256"
is "it lists DG1, DG2, DG3 and DG7" "$(lds_hashes | cut -d' ' -f1 | tr '\n' ' ')" "1 2 3 7 "
is "each hash is sha256sum of its DG file" "$(mismatches)" ""
dgst=$(lds_hashes | while read -r dg hash; do
	[ "$(openssl dgst -sha256 -r "$CHIP/DG$dg.bin" | cut -d' ' -f1)" = "$hash" ] || echo "$dg"
done)
is "and openssl dgst -sha256 agrees" "$dgst" ""
like "chipdata_verify accepts the directory" "$("$CHIPDIR" verify "$CHIP" "$CA" 2>&1)" \
	"^verified: CN=ektp TEST DOCUMENT SIGNER"

# A changed data group: the SOD is still valid, the hash no longer matches.
cp "$CHIP/DG2.bin" "$T/DG2.orig"
flip "$CHIP/DG2.bin" 1000
check "with DG2 changed, openssl still verifies the (unchanged) SOD" \
	cms_verify "$CHIP/SOD.der" "$CA"
is "but DG2's SHA-256 is no longer the one signed" "$(mismatches)" "2 "
like "and chipdata_verify refuses it, naming DG2" "$("$CHIPDIR" verify "$CHIP" "$CA" 2>&1)" \
	"DG2 \(portrait\) was altered"
cp "$T/DG2.orig" "$CHIP/DG2.bin"
cp "$CHIP/DG7.bin" "$T/DG7.orig"
flip "$CHIP/DG7.bin" 20
is "a changed DG7 is found by sha256sum" "$(mismatches)" "7 "
like "and by chipdata_verify" "$("$CHIPDIR" verify "$CHIP" "$CA" 2>&1)" \
	"DG7 \(signature\) was altered"
cp "$T/DG7.orig" "$CHIP/DG7.bin"
is "put back, every hash matches again" "$(mismatches)" ""

# A changed SOD: a hash inside the eContent, or the signature.
cp "$CHIP/SOD.der" "$T/SOD.orig"
econtent=$(openssl asn1parse -inform DER -in "$CHIP/SOD.der" |
	awk '/d=5 .*OCTET STRING/ { split($0, a, /[:= ]+/); print a[2] + 0, a[6] + 0; exit }')
read -r at hl <<<"$econtent"
check "the eContent is found in SOD.der" test -n "$at" -a "${hl:-0}" -gt 0
# 30 bytes into the LDS object: inside DG1's hash (bytes 27 to 58).
flip "$CHIP/SOD.der" $((at + hl + 30))
check "with a hash in the SOD changed, openssl cms -verify refuses it" \
	cms_refused "$CHIP/SOD.der" "$CA"
like "and so does chipdata_verify" "$("$CHIPDIR" verify "$CHIP" "$CA" 2>&1)" \
	"EF.SOD is not authentic"
cp "$T/SOD.orig" "$CHIP/SOD.der"
flip "$CHIP/SOD.der" $(($(stat -c %s "$CHIP/SOD.der") - 2))
check "with the signature changed, openssl cms -verify refuses it" \
	cms_refused "$CHIP/SOD.der" "$CA"
cp "$T/SOD.orig" "$CHIP/SOD.der"

# Another PKI: its CA does not vouch for our signer, nor ours for its.
# (seed 2: another face, signature and templates; the same demographics)
"$CHIPDIR" make "$T/pki2" "$T/chip2" 8192 2 >/dev/null 2>&1 ||
	not_ok "a second chip with a second PKI"
check "openssl refuses our SOD against another test CA" \
	cms_refused "$CHIP/SOD.der" "$T/pki2/test-ca-cert.pem"
check "and accepts the other chip's SOD against its own CA" \
	cms_verify "$T/chip2/SOD.der" "$T/pki2/test-ca-cert.pem"
like "chipdata_verify refuses our chip against the other CA" \
	"$("$CHIPDIR" verify "$CHIP" "$T/pki2/test-ca-cert.pem" 2>&1)" "not authentic.*not trusted"
cp "$T/chip2/SOD.der" "$CHIP/SOD.der"
like "and the other chip's SOD on our files, against its own CA, names the portrait" \
	"$("$CHIPDIR" verify "$CHIP" "$T/pki2/test-ca-cert.pem" 2>&1)" \
	"DG2 \(portrait\) was altered"
cp "$T/SOD.orig" "$CHIP/SOD.der"

# A chip too small: refused, naming how much too big, and nothing written.
out=$("$CHIPDIR" make "$PKI" "$T/small" 3000 2>&1)
is "a 3000-byte chip is refused" "$?" 1
like "naming the bytes over" "$out" "needs [0-9]+ bytes .*, [0-9]+ more than the chip's 3000"
check "and nothing is written" test ! -e "$T/small"

done_testing
