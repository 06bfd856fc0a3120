# t25_cheap_children.py: checks of tests/integration/t25_cheap_children.sh, fed on stdin there.
import struct, sys
b = open(sys.argv[1], "rb").read()
o, kinds = 24, []
while o + 8 <= len(b):
    magic = struct.unpack_from("<I", b, o)[0]
    if magic & 0xFFFFFFF0 == 0x184D2A50:
        o += 8 + struct.unpack_from("<I", b, o + 4)[0]
        continue
    if magic != 0xFD2FB528:
        break
    fhd = b[o + 4]
    single, fcs_flag, did = fhd >> 5 & 1, fhd >> 6, fhd & 3
    p = o + 5 + (0 if single else 1) + (0, 1, 2, 4)[did]
    p += (1 if single else 0, 2, 4, 8)[fcs_flag]
    types = []
    while True:
        h = b[p] | b[p + 1] << 8 | b[p + 2] << 16
        last, btype, size = h & 1, h >> 1 & 3, h >> 3
        types.append(btype)
        p += 3 + (1 if btype == 1 else size)
        if last:
            break
    p += 4 if fhd & 4 else 0
    kinds.append("raw" if types == [0] else "zstd")
    o = p
print(" ".join(kinds))
