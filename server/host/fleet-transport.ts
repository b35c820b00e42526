import { request as httpsRequest, Agent } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { certificateRequestPem, newKeyPair, privateKeyPem } from '../fleet/identity/x509';
import { ensurePrivateDir } from '../secrets-at-rest';
import { FLEET_PATHS } from '../protocol';

// The host's side of mutual TLS (docs/fleet.md#host-identity): on first start it makes its own P-256 key (it never
// leaves the host), sends a CSR with its one-time join token and keeps the certificate it gets; from then on every
// fleet request goes over TLS with that certificate, the console's CA pinned, and the certificate is renewed in
// the background at two thirds of its lifetime.

export type FleetFetch = (url: string | URL, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<Response>;

export interface FleetTransportOptions {
  /** The fleet listener, e.g. https://console.example:7443. */
  consoleUrl: string;
  dataDir: string;
  /** The console CA certificate to pin; needed for the first enrolment, kept in the identity folder after. */
  consoleCaFile?: string;
  /** The join token, asked for only when the host has no valid certificate. */
  joinToken: () => Promise<string | null>;
  log?: (line: string) => void;
}

interface Identity {
  keyPem: string;
  certPem: string;
  notBefore: number;
  notAfter: number;
}

interface Grant {
  hostId: string;
  certificate: string;
  caCertificate: string;
}

const RETRY_RENEWAL_MS = 60_000;
const OLD_AGENT_GRACE_MS = 60_000;
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function identityOf(keyPem: string, certPem: string): Identity {
  const certificate = new X509Certificate(certPem);
  return { keyPem, certPem, notBefore: Date.parse(certificate.validFrom), notAfter: Date.parse(certificate.validTo) };
}

async function readOptional(file: string): Promise<string | null> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
}

async function writePrivate(file: string, text: string) {
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, text, { mode: 0o600 });
  await rename(temp, file);
}

/** One HTTPS exchange as a fetch Response (the body streamed). */
function exchange(agent: Agent, url: URL, init: Parameters<FleetFetch>[1] = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const method = init.method ?? 'GET';
    const req = httpsRequest(url, { method, headers: init.headers, agent }, (res) => {
      const headers = new Headers();
      for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
      const status = res.statusCode ?? 502;
      const noBody = NULL_BODY_STATUS.has(status) || method === 'HEAD';
      if (noBody) res.resume();
      resolve(new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers }));
    });
    req.on('error', reject);
    init.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
    req.end(init.body);
  });
}

async function grantFrom(response: Response, what: string): Promise<Grant> {
  const body = (await response.json().catch(() => null)) as (Grant & { message?: string }) | null;
  if (!response.ok || !body?.certificate) throw new Error(`${what} refused: HTTP ${response.status}${body?.message ? `, ${body.message}` : ''}`);
  return body;
}

export class FleetTransport {
  private agent: Agent;
  private renewalTimer: NodeJS.Timeout | null = null;
  private readonly keyFile: string;
  private readonly certFile: string;

  private constructor(
    private readonly options: FleetTransportOptions,
    private readonly caPem: string,
    private identity: Identity,
    /** The host id the certificate names (the console decided it). */
    readonly hostId: string,
  ) {
    const dir = FleetTransport.folder(options.dataDir);
    this.keyFile = path.join(dir, 'host-key.pem');
    this.certFile = path.join(dir, 'host-cert.pem');
    this.agent = this.newAgent();
  }

  static folder(dataDir: string) {
    return path.join(dataDir, 'identity');
  }

  /** Loads the host's certificate, enrolling first when there is none or it has expired. */
  static async open(options: FleetTransportOptions): Promise<FleetTransport> {
    const dir = FleetTransport.folder(options.dataDir);
    ensurePrivateDir(dir);
    const pinnedFile = path.join(dir, 'console-ca.pem');
    const caPem = options.consoleCaFile ? await readFile(options.consoleCaFile, 'utf8') : await readOptional(pinnedFile);
    if (!caPem) throw new Error(`no console CA certificate is pinned in ${pinnedFile}: pass --console-ca FILE (the console's fleet CA certificate) for the first enrolment`);
    const ca = new X509Certificate(caPem);
    await writePrivate(pinnedFile, caPem);
    const [keyPem, certPem] = await Promise.all([readOptional(path.join(dir, 'host-key.pem')), readOptional(path.join(dir, 'host-cert.pem'))]);
    if (keyPem && certPem) {
      const identity = identityOf(keyPem, certPem);
      // A certificate of another CA (the console's data was reset) is as good as none.
      const ours = new X509Certificate(certPem).verify(ca.publicKey);
      if (ours && identity.notAfter > Date.now() + 60_000) return new FleetTransport(options, caPem, identity, FleetTransport.hostIdOf(certPem));
      options.log?.(ours ? `the host certificate expired at ${new Date(identity.notAfter).toISOString()}; enrolling again` : 'the host certificate is not of the pinned console CA; enrolling again');
    }
    const joinToken = await options.joinToken();
    if (!joinToken) {
      throw new Error('this host has no valid certificate: give it a join token from the console (Hosts → Register host) in a 0600 file, --join-token-file FILE, or HOTPLANE_JOIN_TOKEN');
    }
    const keys = await newKeyPair();
    const bootstrap = new Agent({ ca: caPem, keepAlive: false });
    const grant = await grantFrom(
      await exchange(bootstrap, new URL(FLEET_PATHS.enrol, options.consoleUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ joinToken, csr: await certificateRequestPem(keys, 'hotplane-host') }),
      }),
      'enrolment',
    );
    bootstrap.destroy();
    const identity = identityOf(await privateKeyPem(keys.privateKey), grant.certificate);
    await writePrivate(path.join(dir, 'host-key.pem'), identity.keyPem);
    await writePrivate(path.join(dir, 'host-cert.pem'), identity.certPem);
    options.log?.(`enrolled as host "${grant.hostId}"; certificate valid until ${new Date(identity.notAfter).toISOString()}`);
    return new FleetTransport(options, caPem, identity, grant.hostId);
  }

  private static hostIdOf(certPem: string): string {
    return /URI:spiffe:\/\/[^/]+\/host\/([a-z0-9-]+)/.exec(new X509Certificate(certPem).subjectAltName ?? '')?.[1] ?? 'unknown';
  }

  private newAgent() {
    return new Agent({ keepAlive: true, key: this.identity.keyPem, cert: this.identity.certPem, ca: this.caPem, maxSockets: 8 });
  }

  /** fetch over mutual TLS: what the agent (server/host/agent.ts) calls the console with. */
  readonly fetch: FleetFetch = (url, init) => exchange(this.agent, new URL(url), init);

  get certificateExpiresAt() {
    return new Date(this.identity.notAfter);
  }

  /** A new key and certificate now, over the current certificate; the old connections finish on the old one. */
  async renew(): Promise<void> {
    const keys = await newKeyPair();
    const grant = await grantFrom(
      await this.fetch(new URL(FLEET_PATHS.renew, this.options.consoleUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ csr: await certificateRequestPem(keys, this.hostId) }),
      }),
      'renewal',
    );
    const identity = identityOf(await privateKeyPem(keys.privateKey), grant.certificate);
    await writePrivate(this.keyFile, identity.keyPem);
    await writePrivate(this.certFile, identity.certPem);
    this.identity = identity;
    const old = this.agent;
    this.agent = this.newAgent();
    setTimeout(() => old.destroy(), OLD_AGENT_GRACE_MS).unref();
    this.options.log?.(`certificate renewed; valid until ${new Date(identity.notAfter).toISOString()}`);
  }

  /** Renews at two thirds of the certificate's lifetime, retrying every minute while the console cannot be reached. */
  startRenewal(): this {
    const { notBefore, notAfter } = this.identity;
    const due = notBefore + ((notAfter - notBefore) * 2) / 3;
    this.schedule(Math.max(0, due - Date.now()));
    return this;
  }

  private schedule(delay: number) {
    if (this.renewalTimer) clearTimeout(this.renewalTimer);
    this.renewalTimer = setTimeout(() => {
      this.renew().then(
        () => this.startRenewal(),
        (error: Error) => {
          this.options.log?.(`certificate renewal failed (${error.message}); retrying in a minute`);
          this.schedule(RETRY_RENEWAL_MS);
        },
      );
    }, Math.min(delay, 2 ** 31 - 1));
    this.renewalTimer.unref();
  }

  stop() {
    if (this.renewalTimer) clearTimeout(this.renewalTimer);
    this.agent.destroy();
  }
}
