#!/usr/bin/env python3
"""A userspace stand-in for `tc qdisc ... netem delay D jitter J`.

The test machines' kernel has no sch_netem (nor fq/etf, which could hold
packets to a departure time), so nothing in the kernel can delay packets by
a fixed time. This bridge runs in its own network namespace, spliced into a
router's uplink between two veths with no addresses:

    router `wan` <-> veth `w` [this namespace] veth `p` <-> public bridge

and copies raw Ethernet frames from each side to the other (AF_PACKET
sockets, promiscuous), each after its own delay: `delayMs` +/- a uniform
`jitterMs` (like netem's default distribution; frames may be reordered, as
with netem). Loss and rate limits are the kernel's (nftables `numgen random`
drops, a tbf qdisc): see topology.ts.

The devices feeding this namespace must have checksum and segmentation
offloads off (topology.ts does it with ethtool): a frame read here is sent
on as it is, so it must already be a complete, checksummed Ethernet frame no
larger than the MTU.

Usage: impair.py IFACE_A IFACE_B
Reads JSON lines on stdin: {"delayMs": 100, "jitterMs": 20}, or {} to pass
frames straight through; prints {"event": "ready"} once
forwarding, then {"event": "set", ...} after each line, and on {"stats": true}
{"event": "stats", "frames": N, "dropped": N, "queued": N} (dropped: frames
the kernel refused to send on, e.g. a full queue).
"""
import heapq
import json
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4  # a frame this host sent: not one to forward


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    index = socket.if_nametoindex(name)
    # struct packet_mreq { int ifindex; unsigned short type, alen; unsigned char address[8]; }
    s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack('iHH8s', index, PACKET_MR_PROMISC, 0, b''))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.setblocking(False)
    return s


def say(event, **detail):
    sys.stdout.write(json.dumps({'event': event, **detail}) + '\n')
    sys.stdout.flush()


def main():
    a, b = open_port(sys.argv[1]), open_port(sys.argv[2])
    other = {a.fileno(): b, b.fileno(): a}
    config = {'delayMs': 0.0, 'jitterMs': 0.0}
    queue = []  # (due time, sequence, socket out, frame)
    seq = 0
    frames = dropped = 0
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    pending_input = b''
    say('ready')
    while True:
        now = time.monotonic()
        # send what is due
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
            except (BlockingIOError, OSError):
                dropped += 1  # a full queue on the way out: lost, as on a real link
        timeout = max(0.0, queue[0][0] - now) if queue else None
        readable, _, _ = select.select([a, b, stdin], [], [], timeout)
        for r in readable:
            if r == stdin:
                chunk = os.read(stdin, 65536)
                if chunk == b'':
                    return  # the test went away
                pending_input += chunk
                while b'\n' in pending_input:
                    line, pending_input = pending_input.split(b'\n', 1)
                    if line.strip() == b'':
                        continue
                    command = json.loads(line)
                    if command.get('stats'):
                        say('stats', frames=frames, dropped=dropped, queued=len(queue))
                        continue
                    config = {'delayMs': float(command.get('delayMs', 0)), 'jitterMs': float(command.get('jitterMs', 0))}
                    say('set', **config)
                continue
            # drain this socket: many frames may be waiting
            for _ in range(256):
                try:
                    frame, address = r.recvfrom(65535)
                except BlockingIOError:
                    break
                if address[2] == PACKET_OUTGOING:
                    continue
                frames += 1
                delay = config['delayMs'] + random.uniform(-config['jitterMs'], config['jitterMs'])
                out = other[r.fileno()]
                if delay <= 0 and not queue:
                    try:
                        out.send(frame)
                    except (BlockingIOError, OSError):
                        dropped += 1
                    continue
                seq += 1
                heapq.heappush(queue, (time.monotonic() + max(0.0, delay) / 1000, seq, out, frame))


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
