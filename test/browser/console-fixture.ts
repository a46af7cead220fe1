import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { ROOT_SECRET } from '../helpers/gateway';
import { graphql, ISSUE_TOKEN } from '../helpers/graphql-client';

// Page functions run in the browser, but the tests are compiled for Node: the browser globals
// they use are declared for this module only.
declare const document: {
  activeElement: unknown;
  cookie: string;
  documentElement: { outerHTML: string };
  querySelectorAll(selector: string): ArrayLike<{ value: string }>;
};
declare const localStorage: { length: number };
declare const sessionStorage: { length: number };
declare const indexedDB: { databases(): Promise<unknown[]> };
declare const navigator: { clipboard: { readText(): Promise<string> } };

/** Debian's chromium package: Playwright's own browser download cannot reach the network in CI. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Set to write the screenshots of docs/console/ while the specs run. */
const SCREENSHOTS = process.env.KEYLEDGER_CONSOLE_SCREENSHOTS === '1';
const SCREENSHOT_DIR = join(__dirname, '../../docs/console');

export { ROOT_SECRET };

export interface ConsoleSession {
  page: Page;
  context: BrowserContext;
  /** Every URL the page asked for, WebSockets included. */
  requests: string[];
  /** Errors the page logged (a CSP refusal among them) and uncaught exceptions. */
  errors: string[];
}

/**
 * One real gateway process (compiled, embedded store, temp dir) and one browser for a spec
 * file; a fresh browser context per test, so nothing carries over but the gateway's data.
 */
export class ConsoleFixture {
  private readonly fleet = new GatewayFleet('keyledger-console');
  private gateway!: GatewayProcess;
  private browser!: Browser;
  private readonly contexts: BrowserContext[] = [];

  get url(): string {
    return this.gateway.url;
  }

  async start(): Promise<void> {
    const [gateway, browser] = await Promise.all([
      this.fleet.start(this.fleet.tempDir()),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true }),
    ]);
    this.gateway = gateway;
    this.browser = browser;
  }

  async stop(): Promise<void> {
    await Promise.all(this.contexts.splice(0).map((context) => context.close().catch(() => undefined)));
    await this.browser?.close().catch(() => undefined);
    await this.fleet.stop();
  }

  /** A new page on /console, with the clipboard allowed and every request recorded. */
  async open(options: { width?: number; height?: number } = {}): Promise<ConsoleSession> {
    const context = await this.browser.newContext({
      viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    this.contexts.push(context);
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('websocket', (socket) => requests.push(socket.url()));
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${this.url}/console`);
    return { page, context, requests, errors };
  }

  /** Opens the console and signs in with `secret` (the root token unless given). */
  async signIn(secret = ROOT_SECRET, options: { width?: number; height?: number } = {}): Promise<ConsoleSession> {
    const session = await this.open(options);
    await session.page.getByLabel('Token').fill(secret);
    await session.page.getByRole('button', { name: 'Sign in' }).click();
    await session.page.getByRole('button', { name: 'Sign out' }).waitFor();
    return session;
  }

  /** A GraphQL operation through the public API, as the root token unless `bearer` is given. */
  async api<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, bearer = ROOT_SECRET): Promise<T> {
    const response = await graphql<T>(this.url, query, variables, bearer);
    if (response.errors) throw new Error(`GraphQL failed: ${JSON.stringify(response.errors)}`);
    return response.data as T;
  }

  async issue(input: Record<string, unknown>): Promise<{ secret: string; id: string }> {
    const data = await this.api<{ issueToken: { secret: string; token: { id: string } } }>(ISSUE_TOKEN, { input });
    return { secret: data.issueToken.secret, id: data.issueToken.token.id };
  }

  async verify(token: string, requiredRoles?: string[]): Promise<{ valid: boolean; code: string; token: { id: string; roles: string[]; kind: string } | null }> {
    const data = await this.api<{ verifyToken: any }>(
      `query Verify($token: String!, $requiredRoles: [String!]) { verifyToken(token: $token, requiredRoles: $requiredRoles) { valid code token { id roles kind } } }`,
      { token, requiredRoles },
    );
    return data.verifyToken;
  }

  /** What the page left outside its memory: every web storage and cookie it could have written. */
  async webStorage(session: ConsoleSession): Promise<{ local: number; session: number; cookies: string; indexedDb: number; contextCookies: number }> {
    const inPage = await session.page.evaluate(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookies: document.cookie,
      indexedDb: (await indexedDB.databases()).length,
    }));
    return { ...inPage, contextCookies: (await session.context.cookies()).length };
  }

  /** Requests that went anywhere but this gateway. */
  offOrigin(requests: string[]): string[] {
    const http = new URL(this.url);
    return requests.filter((url) => {
      if (url.startsWith('blob:') || url.startsWith('data:')) return false;
      const parsed = new URL(url);
      return parsed.host !== http.host || !['http:', 'ws:'].includes(parsed.protocol);
    });
  }

  async screenshot(page: Page, name: string): Promise<void> {
    if (!SCREENSHOTS) return;
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
  }
}

/** Runs axe on the page as it is now (the open dialog included) and returns the serious and critical findings. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`);
}

/** The page's whole DOM as text, form values included, to look for a secret in it. */
export async function domText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const values = Array.from(document.querySelectorAll('input, textarea')).map((element) => element.value);
    return `${document.documentElement.outerHTML}\n${values.join('\n')}`;
  });
}

export const BROWSER_TEST_TIMEOUT = 120_000;

/** Whether `target` has the keyboard focus. */
export async function isFocused(target: Locator): Promise<boolean> {
  return target.evaluate((element) => element === document.activeElement);
}

/** What the page would paste. */
export async function clipboardText(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Presses Tab until `target` has the focus, as a keyboard-only person would (at most `limit` presses). */
export async function tabTo(page: Page, target: Locator, limit = 40): Promise<void> {
  for (let presses = 0; presses < limit; presses += 1) {
    if (await isFocused(target)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error('Tab never reached the control');
}

/** A 1×1 PNG, for avatar URLs the browser loads. */
export const PIXEL_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII=', 'base64');
