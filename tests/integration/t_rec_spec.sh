#!/bin/sh
# t_rec_spec.sh: a second reader, written in Python from
# docs/recording-format.md alone (cryptography + the zstd program), opens
# recordings provost-rec made, for an X25519 and an RSA recipient, and
# checks the search index (INDEX) by the positions the document defines:
# the trigrams of the lines shown are set, its count is its bits.
. "$top_srcdir/tests/integration/lib.sh"

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || pv_skip "openssl not found"
command -v zstd >/dev/null 2>&1 || pv_skip "zstd program not found (apt-get install zstd)"
python3 -c 'import cryptography' 2>/dev/null ||
    pv_skip "python3 cryptography not found (apt-get install python3-cryptography)"
REC=$top_builddir/provost-rec
cd "$PV_TMP" || exit 99
"$OPENSSL" genpkey -algorithm X25519 -out x.pem 2>/dev/null || pv_fail "genpkey"
"$OPENSSL" pkey -in x.pem -pubout -out x.pub || pv_fail "pkey"
"$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out r.pem 2>/dev/null ||
    pv_fail "genpkey rsa"
"$OPENSSL" pkey -in r.pem -pubout -out r.pub || pv_fail "pkey rsa"

"$REC" --recipient x.pub --recipient r.pub -o s.pvr -- sh -c \
    'echo one; sleep 1.2; printf "two\n"; exit 5' </dev/null >shown.txt ||
    [ $? -eq 5 ] || pv_fail "provost-rec"

cat >reader.py <<'PYEOF'
import hashlib, json, struct, subprocess, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

path, keypath = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
assert data[:8] == b"\x89PVR\r\n\x1a\n", "magic"
version, jlen = struct.unpack(">HI", data[8:14])
assert version == 1, "version"
hdr_bytes = data[:14 + jlen]
hdr = json.loads(data[14:14 + jlen])
assert hdr["version"] == 1 and hdr["cipher"] == "AES-256-GCM"
hh = hashlib.sha256(hdr_bytes).digest()
prefix = bytes.fromhex(hdr["nonce_prefix"])

key = serialization.load_pem_private_key(open(keypath, "rb").read(), None)
spki = key.public_key().public_bytes(serialization.Encoding.DER,
    serialization.PublicFormat.SubjectPublicKeyInfo)
kid = hashlib.sha256(spki).hexdigest()
rc = [r for r in hdr["recipients"] if r["key_id"] == kid]
assert rc, "no recipient matches this key"
rc = rc[0]
import base64
wrapped = base64.b64decode(rc["wrapped"], validate=True)
if rc["type"] == "x25519":
    epk = base64.b64decode(rc["epk"], validate=True)
    rpk = key.public_key().public_bytes(serialization.Encoding.Raw,
        serialization.PublicFormat.Raw)
    z = key.exchange(x25519.X25519PublicKey.from_public_bytes(epk))
    kek = HKDF(hashes.SHA256(), 32, epk + rpk,
        b"provost-recording v1 x25519 wrap").derive(z)
    dk = AESGCM(kek).decrypt(b"\0" * 12, wrapped, b"provost-recording v1 wrap")
else:
    dk = key.decrypt(wrapped, padding.OAEP(padding.MGF1(hashes.SHA256()),
        hashes.SHA256(), None))
aead = AESGCM(dk)

off, i, final = 14 + jlen, 0, False
events, out, last_t, totals = 0, b"", 0, None
nout = nerr = nin = 0
index = None
while off < len(data):
    assert not final, "trailing bytes"
    flags, ctlen = struct.unpack(">BI", data[off:off + 5])
    ct = data[off + 5:off + 5 + ctlen]
    assert len(ct) == ctlen, "cut short"
    nonce = prefix + struct.pack(">Q", i)
    aad = hh + struct.pack(">QB", i, flags)
    frame = aead.decrypt(nonce, ct, aad)
    plain = subprocess.run(["zstd", "-d", "-q", "-c"], input=frame,
        capture_output=True, check=True).stdout
    assert len(plain) <= 262144
    final = bool(flags & 1)
    p = 0
    while p < len(plain):
        t, ts, ln = struct.unpack(">BQI", plain[p:p + 13])
        payload = plain[p + 13:p + 13 + ln]
        p += 13 + ln
        assert ts >= last_t, "time goes backwards"
        last_t = ts
        if t == 9:
            assert final and p == len(plain), "END placement"
            totals = struct.unpack(">QQQQQQ", payload)
            continue
        events += 1
        if t == 1:
            out += payload; nout += ln
        elif t == 2:
            nerr += ln
        elif t == 3:
            nin += ln
        elif t == 8:
            kind, value, core, nl = struct.unpack(">BIBI", payload[:10])
            print("exit", kind, value)
        elif t == 131:
            assert final and plain[p] == 9, "INDEX placement"
            index = payload
    off += 5 + ctlen
    i += 1
assert final and totals is not None, "incomplete"
assert totals == (events, nout, nerr, nin, i, last_t), (totals, events, i)
assert index is not None, "no INDEX event"
kind, ver, nh, fl, bits, nset = struct.unpack(">BBBBII", index[:12])
assert (kind, ver, nh, fl) == (1, 1, 2, 0), "INDEX header"
bm = index[12:]
assert len(bm) == bits // 8 and bits & (bits - 1) == 0, "INDEX size"
assert sum(bin(b).count("1") for b in bm) == nset, "INDEX count"
lg = bits.bit_length() - 1
def has(tri):
    tri = tri.lower()
    t = tri[0] << 16 | tri[1] << 8 | tri[2]
    h = (t * 0x9e3779b97f4a7c15) % 2**64
    for pos in ((h >> 32) >> (32 - lg), (h % 2**32) >> (32 - lg)):
        if not bm[pos // 8] & (1 << (pos % 8)):
            return False
    return True
for line in out.replace(b"\r", b"").split(b"\n"):
    for k in range(len(line) - 2):
        assert has(line[k:k + 3]), ("trigram not in the index", line[k:k + 3])
assert has(b"ONE") and has(b"Two"), "case"
print("index", bits, nset)
print("chunks", i)
sys.stdout.buffer.write(out)
PYEOF

for k in x.pem r.pem; do
	python3 reader.py s.pvr $k >py.out 2>py.err || pv_fail "second reader with $k: $(cat py.err)"
	grep -q '^exit 1 5$' py.out || pv_fail "$k: no exit 5: $(cat py.out)"
	grep -q '^chunks [2-9]' py.out || pv_fail "$k: expected several chunks: $(head -2 py.out)"
	grep -q '^index [0-9]* [1-9]' py.out || pv_fail "$k: no index: $(head -3 py.out)"
	grep -v '^index ' py.out | tail -n +3 | tr -d '\r' >py.text
	tr -d '\r' <shown.txt | cmp -s - py.text || pv_fail "$k: output differs from what was shown"
done
exit 0
