// Which mirror URLs a download may be pointed at. The mirror arrives from the renderer, so a page that
// reached the API could otherwise make the studio fetch from the local network (a router, a cloud
// metadata service at 169.254.169.254): https to public addresses only, plain http only to this computer,
// and any address at all for an endpoint the user configured (HF_ENDPOINT) before starting the studio.

import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Not reachable from the internet, or not a single host: private, link-local, shared, multicast, reserved. */
const internal = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  internal.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  internal.addSubnet(net, bits, 'ipv6');
}

export type AddressKind = 'loopback' | 'internal' | 'public';

/** What kind of address this is; IPv4-mapped IPv6 addresses count as the IPv4 address they carry. */
export function addressKind(address: string): AddressKind {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (loopback.check(ip, family)) return 'loopback';
  if (internal.check(ip, family)) return 'internal';
  return 'public';
}

export type Lookup = (host: string) => Promise<readonly string[]>;

const systemLookup: Lookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Resolves when `raw` may be used as a mirror, else throws a StudioError saying why. `trusted` holds the
 * endpoints the user configured (their origins pass whatever their address).
 */
export async function checkMirrorUrl(raw: string, trusted: readonly (string | undefined)[] = [], lookup: Lookup = systemLookup): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StudioError('invalid-request', notice('error.download.mirrorInvalid', { url: raw }), raw);
  }
  const origins = trusted.flatMap((t) => {
    try {
      return t ? [new URL(t).origin] : [];
    } catch {
      return [];
    }
  });
  if (origins.includes(url.origin)) return url;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new StudioError('invalid-request', notice('error.download.mirrorNotHttps', { url: raw }), raw);
  if (url.username || url.password) throw new StudioError('invalid-request', notice('error.download.mirrorInvalid', { url: raw }), raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: readonly string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await lookup(host);
    } catch (e) {
      throw new StudioError('invalid-request', notice('error.download.mirrorUnresolved', { url: raw, message: (e as Error).message }), raw);
    }
    if (addresses.length === 0) throw new StudioError('invalid-request', notice('error.download.mirrorUnresolved', { url: raw, message: 'no address' }), raw);
  }
  // Every address the name resolves to must pass: one internal answer is enough to refuse.
  const kinds = addresses.map(addressKind);
  const bad = addresses.find((_, i) => kinds[i] === 'internal');
  if (bad !== undefined) throw new StudioError('invalid-request', notice('error.download.mirrorPrivate', { url: raw, address: bad }), raw);
  if (url.protocol === 'http:' && !kinds.every((k) => k === 'loopback')) throw new StudioError('invalid-request', notice('error.download.mirrorNotHttps', { url: raw }), raw);
  return url;
}
