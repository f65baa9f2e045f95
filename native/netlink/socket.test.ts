// NetlinkSocket against a fake transport: sequence and port checks, ACKs, multipart dumps, NLMSG_ERROR with
// extended ACK, NLM_F_DUMP_INTR retry, receive timeout. No root, no kernel.
import t from "tap";
import { SysError } from "../ffi/sys-error.js";
import type { ByteWriter } from "./attr.js";
import {
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
} from "./constants.js";
import { encodeMessage, readHeader } from "./header.js";
import { NetlinkError } from "./netlink-error.js";
import { NetlinkSocket, type NetlinkTransport } from "./socket.js";

const PORT = 4242;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const typeName = (type: number): string => ({ 16: "RTM_NEWLINK", 18: "RTM_GETLINK" })[type] ?? `T${type}`;

type Responder = (request: Uint8Array, seq: number) => Uint8Array[];

class FakeTransport implements NetlinkTransport {
  readonly portId = PORT;
  readonly sent: Uint8Array[] = [];
  private readonly queue: Uint8Array[] = [];
  closed = false;
  private readonly respond: Responder;
  constructor(respond: Responder) {
    this.respond = respond;
  }
  send(datagram: Uint8Array): void {
    this.sent.push(datagram.slice());
    this.queue.push(...this.respond(datagram, readHeader(datagram).seq));
  }
  receive(): Uint8Array {
    const d = this.queue.shift();
    // What the kernel transport does when SO_RCVTIMEO expires.
    if (d === undefined) throw new SysError("recvfrom", 11);
    return d;
  }
  close(): void {
    this.closed = true;
  }
}

const request = (type = RTM_NEWLINK): Uint8Array => encodeMessage(type, NLM_F_REQUEST, (w) => w.bytes(new Uint8Array(16)));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function ack(seq: number, errno = 0, opts: { extAck?: string; offs?: number; echo?: Uint8Array; pid?: number } = {}): Uint8Array {
  const tlvs = opts.extAck !== undefined || opts.offs !== undefined;
  const capped = opts.echo === undefined;
  const flags = (capped ? NLM_F_CAPPED : 0) | (tlvs ? NLM_F_ACK_TLVS : 0);
  return encodeMessage(
    NLMSG_ERROR,
    flags,
    (w: ByteWriter) => {
      w.s32(-errno);
      if (capped) w.u32(16).u16(RTM_NEWLINK).u16(NLM_F_REQUEST | NLM_F_ACK).u32(seq).u32(0);
      else w.bytes(opts.echo as Uint8Array);
      if (opts.extAck !== undefined) {
        const at = w.beginNest(NLMSGERR_ATTR_MSG, false);
        w.bytes(new TextEncoder().encode(`${opts.extAck}\0`));
        w.endNest(at);
      }
      if (opts.offs !== undefined) {
        w.u16(8).u16(NLMSGERR_ATTR_OFFS).u32(opts.offs);
      }
    },
    seq,
    opts.pid ?? PORT,
  );
}

const link = (seq: number, index: number, flags = NLM_F_MULTI): Uint8Array =>
  encodeMessage(RTM_NEWLINK, flags, (w) => w.u8(0).u8(0).u16(1).s32(index).u32(0).u32(0), seq, PORT);
const done = (seq: number, errno = 0, flags = NLM_F_MULTI, extAck?: string): Uint8Array =>
  encodeMessage(
    NLMSG_DONE,
    flags | (extAck === undefined ? 0 : NLM_F_ACK_TLVS),
    (w) => {
      w.s32(-errno);
      if (extAck !== undefined) {
        const at = w.beginNest(NLMSGERR_ATTR_MSG, false);
        w.bytes(new TextEncoder().encode(`${extAck}\0`));
        w.endNest(at);
      }
    },
    seq,
    PORT,
  );

const indexOf = (m: { payload: Uint8Array }): number => new DataView(m.payload.buffer, m.payload.byteOffset).getInt32(4, true);

t.test("ack: stamps the sequence number and NLM_F_REQUEST|NLM_F_ACK, returns on the ACK", async (t) => {
  const tr = new FakeTransport((_req, seq) => [ack(seq)]);
  const s = new NetlinkSocket(tr, { typeName });
  s.ack(request());
  s.ack(request());
  t.equal(tr.sent.length, 2);
  const [h1, h2] = tr.sent.map((b) => readHeader(b));
  t.equal(h1?.flags, NLM_F_REQUEST | NLM_F_ACK);
  t.equal(h1?.len, 32);
  t.equal(((h2?.seq ?? 0) - (h1?.seq ?? 0)) >>> 0, 1, "sequence numbers increase");
});

t.test("replies to an earlier sequence number are skipped", async (t) => {
  const tr = new FakeTransport((_req, seq) => [ack(seq - 1, 17), concat(link(seq - 1, 9, 0), ack(seq))]);
  const s = new NetlinkSocket(tr, { typeName });
  t.doesNotThrow(() => s.ack(request()));
});

t.test("a sequence number never sent is a protocol error", async (t) => {
  const tr = new FakeTransport((_req, seq) => [ack(seq + 5)]);
  const s = new NetlinkSocket(tr, { typeName });
  const err = t.throws(() => s.ack(request()));
  t.ok(err instanceof NetlinkError);
  t.equal((err as NetlinkError).code, "EPROTO");
  t.match((err as Error).message, /sequence number/);
});

t.test("a reply to another port is a protocol error", async (t) => {
  const tr = new FakeTransport((_req, seq) => [ack(seq, 0, { pid: 999 })]);
  const s = new NetlinkSocket(tr, { typeName });
  const err = t.throws(() => s.ack(request()));
  t.equal((err as NetlinkError).code, "EPROTO");
  t.match((err as Error).message, /port 999/);
});

t.test("NLMSG_ERROR becomes NetlinkError with errno, op and the extended ACK text", async (t) => {
  const tr = new FakeTransport((_req, seq) => [ack(seq, 17, { extAck: "Link already exists", offs: 36 })]);
  const s = new NetlinkSocket(tr, { typeName });
  const err = t.throws(() => s.ack(request(), 'ip link add "cbr0" type bridge'));
  t.ok(err instanceof NetlinkError);
  t.ok(err instanceof SysError);
  if (err instanceof NetlinkError) {
    t.equal(err.errno, 17);
    t.equal(err.code, "EEXIST");
    t.equal(err.op, "RTM_NEWLINK");
    t.equal(err.extAck, "Link already exists (attribute at byte 36)");
    t.equal(err.syscall, "netlink");
    t.equal(err.message, 'RTM_NEWLINK (ip link add "cbr0" type bridge) failed: File exists (EEXIST): Link already exists (attribute at byte 36)');
  }
});

t.test("extended ACK after an uncapped echo of the whole request", async (t) => {
  const tr = new FakeTransport((req, seq) => {
    const echo = req.slice();
    return [ack(seq, 22, { extAck: "MTU too small", echo })];
  });
  const s = new NetlinkSocket(tr, { typeName });
  const err = t.throws(() => s.ack(request()));
  t.equal((err as NetlinkError).extAck, "MTU too small");
  t.equal((err as NetlinkError).code, "EINVAL");
});

t.test("an error without extended ACK has extAck undefined", async (t) => {
  const tr = new FakeTransport((_req, seq) => [ack(seq, 19)]);
  const err = t.throws(() => new NetlinkSocket(tr, { typeName }).ack(request()));
  t.equal((err as NetlinkError).extAck, undefined);
  t.equal((err as NetlinkError).message, "RTM_NEWLINK failed: No such device (ENODEV)");
});

t.test("query returns the messages that come before the ACK", async (t) => {
  const tr = new FakeTransport((_req, seq) => [concat(link(seq, 7, 0), ack(seq))]);
  const msgs = new NetlinkSocket(tr, { typeName }).query(request(RTM_GETLINK));
  t.equal(msgs.length, 1);
  t.equal(msgs[0]?.type, RTM_NEWLINK);
  t.equal(msgs[0] && indexOf(msgs[0]), 7);
});

t.test("multipart dump over several datagrams, up to NLMSG_DONE", async (t) => {
  const tr = new FakeTransport((_req, seq) => [concat(link(seq, 1), link(seq, 2)), concat(link(seq, 3), link(seq, 4)), done(seq)]);
  const s = new NetlinkSocket(tr, { typeName });
  const msgs = s.dump(request(RTM_GETLINK));
  t.same(msgs.map(indexOf), [1, 2, 3, 4]);
  t.equal(readHeader(tr.sent[0] as Uint8Array).flags, NLM_F_REQUEST | NLM_F_DUMP);
});

t.test("NLM_F_DUMP_INTR: the dump is restarted and the clean result returned", async (t) => {
  let calls = 0;
  const tr = new FakeTransport((_req, seq) => {
    calls++;
    if (calls === 1) return [concat(link(seq, 1), link(seq, 2, NLM_F_MULTI | NLM_F_DUMP_INTR)), done(seq, 0, NLM_F_MULTI | NLM_F_DUMP_INTR)];
    return [concat(link(seq, 1), link(seq, 2), link(seq, 3)), done(seq)];
  });
  const msgs = new NetlinkSocket(tr, { typeName }).dump(request(RTM_GETLINK));
  t.equal(calls, 2);
  t.same(msgs.map(indexOf), [1, 2, 3]);
  t.not(readHeader(tr.sent[0] as Uint8Array).seq, readHeader(tr.sent[1] as Uint8Array).seq);
});

t.test("NLM_F_DUMP_INTR every time: EINTR after the retries", async (t) => {
  let calls = 0;
  const tr = new FakeTransport((_req, seq) => {
    calls++;
    return [link(seq, 1, NLM_F_MULTI | NLM_F_DUMP_INTR), done(seq, 0, NLM_F_MULTI | NLM_F_DUMP_INTR)];
  });
  const err = t.throws(() => new NetlinkSocket(tr, { typeName, dumpRetries: 3 }).dump(request(RTM_GETLINK)));
  t.equal(calls, 4);
  t.equal((err as NetlinkError).code, "EINTR");
  t.equal((err as NetlinkError).op, "RTM_GETLINK");
});

t.test("a dump ended by an error in NLMSG_DONE or by NLMSG_ERROR", async (t) => {
  const tr1 = new FakeTransport((_req, seq) => [link(seq, 1), done(seq, 22, NLM_F_MULTI, "Invalid header for link dump")]);
  const e1 = t.throws(() => new NetlinkSocket(tr1, { typeName }).dump(request(RTM_GETLINK)));
  t.equal((e1 as NetlinkError).code, "EINVAL");
  t.equal((e1 as NetlinkError).extAck, "Invalid header for link dump");
  const tr2 = new FakeTransport((_req, seq) => [ack(seq, 95, { extAck: "Filter not supported" })]);
  const e2 = t.throws(() => new NetlinkSocket(tr2, { typeName }).dump(request(RTM_GETLINK)));
  t.equal((e2 as NetlinkError).code, "EOPNOTSUPP");
});

t.test("no answer within the receive timeout: NetlinkError ETIMEDOUT naming the operation", async (t) => {
  const tr = new FakeTransport(() => []);
  const s = new NetlinkSocket(tr, { typeName, timeoutMs: 250 });
  const err = t.throws(() => s.ack(request(), "ip link set #3 up"));
  t.ok(err instanceof NetlinkError);
  t.equal((err as NetlinkError).code, "ETIMEDOUT");
  t.equal((err as NetlinkError).op, "RTM_NEWLINK");
  t.equal((err as Error).message, "RTM_NEWLINK (ip link set #3 up) failed: no answer from the kernel within 250 ms (ETIMEDOUT)");
  // The late answer arrives with the next request: it is skipped as stale.
  let first = true;
  const tr2 = new FakeTransport((_req, seq) => {
    if (first) {
      first = false;
      return [];
    }
    return [ack(seq - 1, 17), ack(seq)];
  });
  const s2 = new NetlinkSocket(tr2, { typeName });
  t.throws(() => s2.ack(request()));
  t.doesNotThrow(() => s2.ack(request()));
});

t.test("other transport errors pass through; a closed socket refuses requests", async (t) => {
  const tr: NetlinkTransport = {
    portId: PORT,
    send() {},
    receive() {
      throw new SysError("recvfrom", 9);
    },
    close() {},
  };
  const s = new NetlinkSocket(tr, { typeName });
  const err = t.throws(() => s.ack(request()));
  t.ok(err instanceof SysError && !(err instanceof NetlinkError));
  t.equal((err as SysError).code, "EBADF");
  s.close();
  s.close();
  t.throws(() => s.ack(request()), /closed/);
});
