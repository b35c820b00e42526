// Realistic requests for the example modules (formats in modules/ledger/ledger.c, modules/risk-rules/risk_rules.c
// and modules/go/gateway.go), for the demo traffic generator. Random source injectable for tests.

export type Random = () => number;

export interface DemoRequest {
  body: string;
  /** A few callers carry a gray id, so sticky routing has something to stick to. */
  grayId?: string;
}

export type DemoRequestSource = () => DemoRequest;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const between = (random: Random, low: number, high: number) => low + Math.floor(random() * (high - low + 1));

const GRAY_IDS = ['gray-7', 'gray-13', 'gray-42'];
const GRAY_SHARE = 0.1;

function withGrayId(random: Random, body: string): DemoRequest {
  return random() < GRAY_SHARE ? { body, grayId: pick(random, GRAY_IDS) } : { body };
}

const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `demo-${String(i).padStart(2, '0')}`);
const OPENING_BALANCE = 1_000_000;

// Opens every account first; afterwards an occasional re-open (answered "account exists" while the ledger
// keeps its state) refills accounts a restarted host has forgotten.
function ledgerRequests(random: Random): DemoRequestSource {
  const unopened = [...ACCOUNTS];
  return () => {
    const first = unopened.shift();
    if (first) return { body: `open ${first} ${OPENING_BALANCE}` };
    const roll = random();
    if (roll < 0.04) return withGrayId(random, `open ${pick(random, ACCOUNTS)} ${OPENING_BALANCE}`);
    if (roll < 0.5) return withGrayId(random, `balance ${pick(random, ACCOUNTS)}`);
    if (roll < 0.98) {
      const from = pick(random, ACCOUNTS);
      const to = pick(random, ACCOUNTS.filter((a) => a !== from));
      return withGrayId(random, `transfer ${from} ${to} ${between(random, 1, 500)}`);
    }
    return withGrayId(random, 'total');
  };
}

const COUNTRIES = ['CN', 'CN', 'CN', 'CN', 'US', 'DE', 'SG', 'HK', 'KP', 'IR'];
const MERCHANT_CODES = [5411, 5812, 5999, 4111, 4829, 6051, 7995];

function payment(random: Random) {
  // Log-uniform from 1.00 to 100 000.00: mostly small payments, a few large ones.
  const amount = Math.round(10 ** (2 + random() * 5));
  return { amount, country: pick(random, COUNTRIES), mcc: pick(random, MERCHANT_CODES), hour: between(random, 0, 23) };
}

function riskRulesRequests(random: Random): DemoRequestSource {
  return () => {
    const p = payment(random);
    return withGrayId(random, `amount=${p.amount};country=${p.country};mcc=${p.mcc};hour=${p.hour}`);
  };
}

// HTTP request lines, as a gateway in front of ledger and risk-rules sees them; a few go where no route is (404).
function gatewayRequests(random: Random): DemoRequestSource {
  return () => {
    const roll = random();
    if (roll < 0.4) return withGrayId(random, `GET /accounts/${pick(random, ACCOUNTS)}`);
    if (roll < 0.7) {
      const from = pick(random, ACCOUNTS);
      const to = pick(random, ACCOUNTS.filter((a) => a !== from));
      return withGrayId(random, `POST /transfers?from=${from}&to=${to}&amount=${between(random, 1, 500)}`);
    }
    if (roll < 0.98) {
      const p = payment(random);
      return withGrayId(random, `POST /payments/score?amount=${p.amount}&country=${p.country}&mcc=${p.mcc}&hour=${p.hour}`);
    }
    return withGrayId(random, 'GET /statements/latest');
  };
}

const SOURCES: Record<string, (random: Random) => DemoRequestSource> = {
  ledger: ledgerRequests,
  'risk-rules': riskRulesRequests,
  'edge-gateway': gatewayRequests,
};

export function demoRequestSource(module: string, random: Random = Math.random): DemoRequestSource | null {
  return SOURCES[module]?.(random) ?? null;
}
