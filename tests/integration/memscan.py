# memscan.py KEY PID: how many copies of the Ed25519 seed of the OpenSSH
# private key KEY the memory of process PID holds (t_broker_plugin).
import sys, base64, struct
def seed_of(path):
    t = open(path).read()
    b = base64.b64decode(''.join(l for l in t.splitlines() if not l.startswith('-----')))
    assert b.startswith(b'openssh-key-v1\0')
    p = len(b'openssh-key-v1\0')
    def s():
        nonlocal p
        n = struct.unpack('>I', b[p:p+4])[0]; p += 4
        v = b[p:p+n]; p += n; return v
    s(); s(); s(); p += 4; s()  # cipher kdf kdfopts n pubkey
    priv = s()
    q = 8
    def t2():
        nonlocal q
        n = struct.unpack('>I', priv[q:q+4])[0]; q += 4
        v = priv[q:q+n]; q += n; return v
    t2(); t2(); sk = t2()
    return sk[:32]
seed = seed_of(sys.argv[1]); pid = sys.argv[2]
hits = 0
CHUNK = 1 << 20
with open('/proc/%s/maps' % pid) as m, open('/proc/%s/mem' % pid, 'rb', 0) as mem:
    for line in m:
        a, perm = line.split()[0:2]
        if 'r' not in perm: continue
        lo, hi = (int(x, 16) for x in a.split('-'))
        # a sanitizer's shadow (terabytes, mostly never touched) holds no key
        if hi - lo > (1 << 32): continue
        tail = b''
        for off in range(lo, hi, CHUNK):
            try:
                mem.seek(off); data = tail + mem.read(min(CHUNK, hi - off))
            except (OSError, ValueError, OverflowError):
                tail = b''
                continue
            hits += data.count(seed)
            tail = data[-(len(seed) - 1):]
print(hits)
