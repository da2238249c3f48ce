"""Reads a TensorBoard event file with a parser written from the formats (TFRecord framing,
protobuf wire format, TensorFlow's Event/Summary messages), independently of nucseg's writer
and without TensorFlow or the tensorboard package (Debian 12 has neither).

Usage: tensorboard_events.py EVENTS [PNG ...]
Checks every record's masked CRC32C (bit by bit) and prints one line per summary value:
  scalar<TAB>tag<TAB>step<TAB>value
  image<TAB>tag<TAB>step<TAB>height<TAB>width<TAB>colorspace<TAB>decoded HxWxC<TAB>same
where the image is decoded with OpenCV and `same` is 1 when its pixels equal those of the
i-th PNG given (the i-th image event), "-" when none is given.
"""
import struct
import sys

import cv2
import numpy as np


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def fields(buf):
    """(field number, wire type, value) of a protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def varint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def records(path):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[pos + 8:pos + 12])[0] == masked(header), "length CRC"
        body = data[pos + 12:pos + 12 + length]
        assert struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])[0] == masked(body), "data CRC"
        pos += 16 + length
        yield body


def main():
    pngs = sys.argv[2:]
    images_seen = 0
    for body in records(sys.argv[1]):
        step = 0
        summaries = []
        for number, wire, value in fields(body):
            if number == 2 and wire == 0:
                step = value
            elif number == 5 and wire == 2:
                summaries.append(value)
        for summary in summaries:
            for number, _, value in fields(summary):
                if number != 1:
                    continue
                tag, scalar, image = None, None, None
                for n, _, v in fields(value):
                    if n == 1:
                        tag = v.decode()
                    elif n == 2:
                        scalar = struct.unpack("<f", v)[0]
                    elif n == 4:
                        image = dict((k, x) for k, _, x in fields(v))
                if scalar is not None:
                    print(f"scalar\t{tag}\t{step}\t{scalar!r}")
                if image is not None:
                    pixels = cv2.imdecode(np.frombuffer(image[4], np.uint8), cv2.IMREAD_UNCHANGED)
                    same = "-"
                    if images_seen < len(pngs):
                        same = int(np.array_equal(pixels, cv2.imread(pngs[images_seen], cv2.IMREAD_UNCHANGED)))
                    images_seen += 1
                    shape = "x".join(str(d) for d in pixels.shape)
                    print(f"image\t{tag}\t{step}\t{image[1]}\t{image[2]}\t{image[3]}\t{shape}\t{same}")


main()
