import type { OutboxNotification } from '../domain/call.js';

/**
 * The body Graph POSTs to a callbackUri (spec §3.1): a `commsNotifications` with one `commsNotification`,
 * carrying `resourceUrl` and its legacy twin `resource` (`/app/calls/...`, still present in real traffic).
 */
export function commsNotificationsBody(n: OutboxNotification): string {
  return JSON.stringify({
    '@odata.type': '#microsoft.graph.commsNotifications',
    value: [{
      '@odata.type': '#microsoft.graph.commsNotification',
      changeType: n.changeType,
      resource: n.resourceUrl.replace(/^\/communications\/calls\//, '/app/calls/'),
      resourceUrl: n.resourceUrl,
      callbackUri: n.callbackUri,
      resourceData: n.resourceData,
    }],
  });
}
