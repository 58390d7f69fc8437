import { Client, HTTPMessageHandler, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import { AllowedHostsValidator, BaseBearerTokenAuthenticationProvider } from '@microsoft/kiota-abstractions';
import { GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';

/**
 * The official clients as a bot configures them, pointed at a graph-calls over a real socket: the Graph JS
 * client with a bearer middleware, and the Kiota beta SDK's request adapter. One place, so every client
 * test sets them up the same way.
 */
class StaticBearer implements Middleware {
  private next: Middleware | undefined;
  constructor(private readonly token: string) {}
  async execute(ctx: Context): Promise<void> {
    const options = (ctx.options ??= {});
    options.headers = { ...(options.headers as Record<string, string> | undefined), Authorization: `Bearer ${this.token}` };
    return this.next!.execute(ctx);
  }
  setNext(next: Middleware): void { this.next = next; }
}

/** `@microsoft/microsoft-graph-client` on `baseUrl` with `defaultVersion` and a fixed app token. */
export function graphClient(baseUrl: string, token: string, version: 'beta' | 'v1.0'): Client {
  const bearer = new StaticBearer(token);
  bearer.setNext(new HTTPMessageHandler());
  return Client.initWithMiddleware({ baseUrl, defaultVersion: version, middleware: bearer });
}

/** The Kiota beta SDK's adapter on `${baseUrl}/beta`, allowed to send the token to 127.0.0.1. */
export function kiotaBetaAdapter(baseUrl: string, token: string): GraphBetaRequestAdapter {
  const adapter = new GraphBetaRequestAdapter(new BaseBearerTokenAuthenticationProvider({
    getAuthorizationToken: async () => token,
    getAllowedHostsValidator: () => new AllowedHostsValidator(new Set(['127.0.0.1'])),
  }));
  adapter.baseUrl = `${baseUrl}/beta`;
  return adapter;
}
