/**
 * The gateway's public base URL: the JWT issuer and the base of the OAuth metadata. It is
 * configured (KEYLEDGER_PUBLIC_URL) or, when not, the address the server listens on, which
 * is known only once it listens (the port may be ephemeral). A wildcard listen address
 * (0.0.0.0, ::) is never used: the configuration requires KEYLEDGER_PUBLIC_URL with one.
 */
export class PublicUrl {
  private listeningAt: string | null = null;

  constructor(private readonly configured: string | null) {}

  /** Records the listening address; a configured URL always wins. */
  listening(url: string): void {
    this.listeningAt = url;
  }

  get isConfigured(): boolean {
    return this.configured !== null;
  }

  get value(): string {
    const url = this.configured ?? this.listeningAt;
    if (!url) throw new Error('The public URL is not known before the server listens; set KEYLEDGER_PUBLIC_URL');
    return url.replace(/\/+$/, '');
  }
}
