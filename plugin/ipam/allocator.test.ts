import t from "tap";
import { throwsCni } from "../../test/support/assert-cni.js";
import { parseRangeSet, type RangeSet } from "../../core/cni/ranges.js";
import { formatIp, type IpAddr } from "../../core/ip.js";
import { parseIp } from "../../core/ip-parse.js";
import { allocate, candidates } from "./allocator.js";
import { decodeLeaseContent, encodeLeaseOwner, type Lease, type LeaseOwner, type LeaseStore } from "./store.js";

/** An in-memory LeaseStore with host-local's semantics. */
export class MemoryStore implements LeaseStore {
  readonly files = new Map<string, string>();
  async withLock<T>(fn: () => T): Promise<T> {
    return fn();
  }
  leases(): Lease[] {
    return [...this.files].filter(([n]) => !n.startsWith("last_")).map(([n, c]) => ({ ip: parseIp(n), content: decodeLeaseContent(c) }));
  }
  reserve(owner: LeaseOwner, ip: IpAddr, idx: number): boolean {
    const n = formatIp(ip);
    if (this.files.has(n)) return false;
    this.files.set(n, encodeLeaseOwner(owner));
    this.files.set(`last_reserved_ip.${idx}`, n);
    return true;
  }
  lastReservedIp(idx: number): IpAddr | undefined {
    const v = this.files.get(`last_reserved_ip.${idx}`);
    return v === undefined ? undefined : parseIp(v);
  }
  restoreLastReserved(idx: number, previous: IpAddr | undefined): void {
    if (previous === undefined) this.files.delete(`last_reserved_ip.${idx}`);
    else this.files.set(`last_reserved_ip.${idx}`, formatIp(previous));
  }
  release(ip: IpAddr): void {
    this.files.delete(formatIp(ip));
  }
  sweepTemporaries(): number {
    return 0;
  }
  snapshot(): IpAddr[] {
    return this.leases().map((l) => l.ip);
  }
}

const set = (...ranges: Record<string, string>[]): RangeSet => parseRangeSet(ranges, "test");
const order = (s: RangeSet, last?: string) => [...candidates(s, last === undefined ? undefined : parseIp(last))].map((c) => formatIp(c.ip));
const owner = (i: number | string): LeaseOwner => ({ containerId: `c${i}`, ifName: "eth0" });

t.test("candidates: host-local's order", async (t) => {
  const s = set({ subnet: "10.0.0.0/29" }); // .1 gw, .2-.6 usable
  t.same(order(s), ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"], "from rangeStart, gateway skipped, broadcast excluded");
  t.same(order(s, "10.0.0.4"), ["10.0.0.5", "10.0.0.6", "10.0.0.2", "10.0.0.3", "10.0.0.4"], "round robin after last, wraps, last comes last");
  t.same(order(s, "10.0.0.6"), ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"], "last at rangeEnd wraps to start");
  t.same(order(s, "10.9.9.9"), order(s), "last outside the set: start from the beginning");
  const gwEnd = set({ subnet: "10.0.0.0/29", gateway: "10.0.0.6" });
  t.same(order(gwEnd), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"], "gateway .6: .1 becomes allocatable");
  const two = set({ subnet: "10.0.0.0/30" }, { subnet: "10.0.1.0/30" });
  t.same(order(two), ["10.0.0.2", "10.0.1.2"], "range by range");
  t.same(order(two, "10.0.0.2"), ["10.0.1.2", "10.0.0.2"], "wraps across ranges");
  const v6 = set({ subnet: "fd00::/126" });
  t.same(order(v6), ["fd00::2", "fd00::3"], "v6: rangeEnd is the last address");
  const startIsGw = set({ subnet: "10.0.0.0/29", rangeStart: "10.0.0.1", rangeEnd: "10.0.0.3" });
  t.same(order(startIsGw), ["10.0.0.2", "10.0.0.3"]);
});

t.test("allocate: round robin, wrap, exhaustion", async (t) => {
  const store = new MemoryStore();
  const s = set({ subnet: "10.0.0.0/29" });
  const got = [1, 2, 3, 4, 5].map((i) => formatIp(allocate({ store, set: s, rangeSetIndex: 0, owner: owner(i), requested: undefined }).address.addr));
  t.same(got, ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
  throwsCni(t, () => allocate({ store, set: s, rangeSetIndex: 0, owner: owner(6), requested: undefined }), 100, /no IP addresses available in range set 0 \(10.0.0.1-10.0.0.6\)/);
  store.release(parseIp("10.0.0.3"));
  const next = allocate({ store, set: s, rangeSetIndex: 0, owner: owner(7), requested: undefined });
  t.equal(formatIp(next.address.addr), "10.0.0.3", "the only free one, found after wrapping");
  t.equal(formatIp(next.gateway!), "10.0.0.1");
  t.equal(next.address.prefixLen, 29);
  store.release(parseIp("10.0.0.2"));
  store.release(parseIp("10.0.0.5"));
  t.equal(formatIp(allocate({ store, set: s, rangeSetIndex: 0, owner: owner(8), requested: undefined }).address.addr), "10.0.0.5", "after last (.3), not lowest free");
});

t.test("allocate: duplicates and requested IPs", async (t) => {
  const store = new MemoryStore();
  const s = set({ subnet: "10.0.0.0/24" });
  allocate({ store, set: s, rangeSetIndex: 0, owner: owner(1), requested: undefined });
  throwsCni(t, () => allocate({ store, set: s, rangeSetIndex: 0, owner: owner(1), requested: undefined }), 107, /10.0.0.2 has been allocated to c1, duplicate allocation is not allowed/);
  t.ok(allocate({ store, set: s, rangeSetIndex: 0, owner: { containerId: "c1", ifName: "eth1" }, requested: undefined }), "other ifname is fine");
  store.files.set("10.0.0.77", "legacy1");
  throwsCni(t, () => allocate({ store, set: s, rangeSetIndex: 0, owner: { containerId: "legacy1", ifName: "eth0" }, requested: undefined }), 107, /10.0.0.77/, "legacy id-only lease counts");
  t.equal(formatIp(allocate({ store, set: s, rangeSetIndex: 0, owner: owner(2), requested: parseIp("10.0.0.50") }).address.addr), "10.0.0.50");
  throwsCni(t, () => allocate({ store, set: s, rangeSetIndex: 0, owner: owner(3), requested: parseIp("10.0.0.50") }), 101, /requested IP address 10.0.0.50 is not available/);
  throwsCni(t, () => allocate({ store, set: s, rangeSetIndex: 0, owner: owner(3), requested: parseIp("10.0.0.1") }), 101, /10.0.0.1 is the subnet's gateway/);
  throwsCni(t, () => allocate({ store, set: s, rangeSetIndex: 0, owner: owner(3), requested: parseIp("10.0.0.255") }), 101, /10.0.0.255 is not in range set 0/);
  t.equal(store.files.get("last_reserved_ip.0"), "10.0.0.50");
});

t.test("lease content codec", async (t) => {
  t.equal(encodeLeaseOwner({ containerId: " abc \n", ifName: "eth0" }), "abc\r\neth0");
  t.same(decodeLeaseContent("abc\r\neth0"), { kind: "owner", owner: { containerId: "abc", ifName: "eth0" } });
  t.same(decodeLeaseContent("abc\r\neth0\n"), { kind: "owner", owner: { containerId: "abc", ifName: "eth0" } });
  t.same(decodeLeaseContent("abc"), { kind: "legacy", containerId: "abc" });
  t.same(decodeLeaseContent(""), { kind: "garbage" });
  t.same(decodeLeaseContent("\u0000\u0001"), { kind: "garbage" });
  t.same(decodeLeaseContent("a b c"), { kind: "garbage" });
});
