import type { ConfigStore, Wakeups } from '../domain/ports.js';
import type { CompliancePolicy } from '../domain/recording-policy.js';
import { SharedCollection } from '../shared/shared-collection.js';

/**
 * The configured compliance-recording policies: from `--policies FILE` at start (the file wins), changed
 * through the control plane, shared by every instance on the database.
 */
export class PolicyRegistry {
  private constructor(private readonly policies: SharedCollection<CompliancePolicy>) {}

  static async open(config: ConfigStore, wakeups: Wakeups, fromFile: CompliancePolicy[]): Promise<PolicyRegistry> {
    const shared = await SharedCollection.open<CompliancePolicy>(config, wakeups, 'policy:', 'policies');
    for (const p of fromFile) if (JSON.stringify(shared.get(p.id)) !== JSON.stringify(p)) await shared.put(p.id, p);
    return new PolicyRegistry(shared);
  }

  list(): CompliancePolicy[] {
    return this.policies.values();
  }

  put(p: CompliancePolicy): Promise<void> {
    return this.policies.put(p.id, p);
  }

  remove(id: string): Promise<boolean> {
    return this.policies.remove(id);
  }

  /** Policies that record `userId` with a recorder other than `exceptAppId` (a recorder does not record itself). */
  forUser(userId: string, exceptAppId: string): CompliancePolicy[] {
    const u = userId.toLowerCase();
    return this.list().filter((p) => p.userIds.includes(u) && p.recorderAppId !== exceptAppId);
  }
}
