#!/usr/bin/env python3
"""Counts what a PNG's compressed image data is made of: literals and
matches (back-references), with the match lengths and literal code lengths.

    python3 bench/deflate_symbols.py assets/photos/chelsea.png

Written to see what bounds inflating (docs/performance.md): a stream of
short matches costs two dependent table lookups per symbol, one of mostly
literals one; how many bits a whole match takes says whether one lookup
could decode it. Plain Python, standard library only; a few seconds per file.
"""
import collections
import struct
import sys

LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
               35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
LENGTH_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
DISTANCE_EXTRA = [0, 0, 0, 0] + [n // 2 for n in range(2, 28)]
CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


def image_data(path):
    """The zlib stream of a PNG: its IDAT chunks joined."""
    data = open(path, "rb").read()
    at, joined = 8, bytearray()
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        if data[at + 4:at + 8] == b"IDAT":
            joined += data[at + 8:at + 8 + length]
        at += 12 + length
    return bytes(joined)


class Bits:
    """Deflate's bit order: least significant bit of each byte first."""

    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, count):
        value = 0
        for i in range(count):
            value |= (self.data[self.at >> 3] >> (self.at & 7) & 1) << i
            self.at += 1
        return value


def canonical_code(lengths):
    """{(length, code): symbol} for the canonical Huffman code of `lengths`."""
    count = collections.Counter(n for n in lengths if n)
    code, first = 0, {}
    for n in range(1, 16):
        code = (code + count.get(n - 1, 0)) << 1
        first[n] = code
    table = {}
    for symbol, n in enumerate(lengths):
        if n:
            table[(n, first[n])] = symbol
            first[n] += 1
    return table


def decode_symbol(bits, table):
    """The next symbol and the length of its code."""
    code = 0
    for n in range(1, 16):
        code = code << 1 | bits.take(1)
        if (n, code) in table:
            return table[(n, code)], n
    raise ValueError("invalid Huffman code")


def block_codes(bits, kind):
    """The literal/length and distance codes of a fixed or dynamic block."""
    if kind == 1:
        return (canonical_code([8] * 144 + [9] * 112 + [7] * 24 + [8] * 8),
                canonical_code([5] * 30))
    literals, distances, code_lengths = bits.take(5) + 257, bits.take(5) + 1, bits.take(4) + 4
    meta = [0] * 19
    for symbol in CODE_LENGTH_ORDER[:code_lengths]:
        meta[symbol] = bits.take(3)
    meta_code, lengths = canonical_code(meta), []
    while len(lengths) < literals + distances:
        symbol, _ = decode_symbol(bits, meta_code)
        if symbol < 16:
            lengths.append(symbol)
        elif symbol == 16:
            lengths += [lengths[-1]] * (3 + bits.take(2))
        elif symbol == 17:
            lengths += [0] * (3 + bits.take(3))
        else:
            lengths += [0] * (11 + bits.take(7))
    return canonical_code(lengths[:literals]), canonical_code(lengths[literals:])


def count_symbols(stream):
    bits = Bits(stream[2:])  # after the zlib header
    stats = {"blocks": 0, "stored bytes": 0, "literals": 0, "matches": 0}
    literal_code_lengths, match_lengths = collections.Counter(), collections.Counter()
    # Distance codes, and the bits each whole match takes (length code and
    # extra bits, distance code and extra bits).
    distance_codes, match_bits = collections.Counter(), collections.Counter()
    while True:
        final, kind = bits.take(1), bits.take(2)
        stats["blocks"] += 1
        if kind == 0:
            bits.at = (bits.at + 7) // 8 * 8
            length = bits.take(16)
            bits.take(16)
            bits.at += 8 * length
            stats["stored bytes"] += length
        else:
            litlen, distance = block_codes(bits, kind)
            while True:
                symbol, code_length = decode_symbol(bits, litlen)
                if symbol < 256:
                    stats["literals"] += 1
                    literal_code_lengths[code_length] += 1
                    continue
                if symbol == 256:
                    break
                index = symbol - 257
                length = LENGTH_BASE[index] + bits.take(LENGTH_EXTRA[index])
                stats["matches"] += 1
                match_lengths[length] += 1
                distance_symbol, distance_length = decode_symbol(bits, distance)
                bits.take(DISTANCE_EXTRA[distance_symbol])
                distance_codes[distance_symbol] += 1
                match_bits[code_length + LENGTH_EXTRA[index] + distance_length
                           + DISTANCE_EXTRA[distance_symbol]] += 1
        if final:
            return stats, literal_code_lengths, match_lengths, distance_codes, match_bits


def main():
    for path in sys.argv[1:]:
        stats, code_lengths, lengths, distances, match_bits = count_symbols(image_data(path))
        matched = sum(n * k for n, k in lengths.items())
        mean = matched / stats["matches"] if stats["matches"] else 0
        print(f"{path}: {stats['blocks']} blocks, {stats['stored bytes']} stored bytes, "
              f"{stats['literals']} literals, {stats['matches']} matches "
              f"({matched} bytes, {mean:.2f} per match)")
        print("  literal code lengths:", dict(sorted(code_lengths.items())))
        print("  commonest match lengths:", dict(lengths.most_common(6)))
        print("  commonest distance codes:", dict(distances.most_common(8)))
        if stats["matches"]:
            short = sum(k for n, k in match_bits.items() if n <= 12)
            ordered = sorted(match_bits.elements())
            print(f"  bits per match: median {ordered[len(ordered) // 2]}, "
                  f"{short / stats['matches']:.0%} take 12 or fewer")


if __name__ == "__main__":
    main()
