# Largest 8-bit difference between same-named PNGs of two folders (8-bit, non-interlaced, as bestiary writes).
import os, sys, struct, zlib
def pixels(path):
    data = open(path, 'rb').read()
    pos, idat, w, h, ch = 8, b'', 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, _, ctype = struct.unpack('>IIBB', body[:10])
            ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    raw, stride, out, prev = zlib.decompress(idat), w * ch, bytearray(), bytearray(w * ch)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b, c = prev[i], (prev[i - ch] if i >= ch else 0)
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (b if abs(p - b) <= abs(p - c) else c)
            line[i] = (line[i] + [0, a, b, (a + b) // 2, paeth][f]) & 255
        out += line
        prev = line
    return out
a, b = sys.argv[1], sys.argv[2]
print(max(max(abs(x - y) for x, y in zip(pixels(os.path.join(a, f)), pixels(os.path.join(b, f)))) for f in sorted(os.listdir(a)) if f.endswith('.png')))
