import type { MediaActionsService } from '../domain/media-actions.service.js';
import type { RecordResponseRenderer } from '../media/record-response.js';
import type { JobRegistry } from './job-registry.js';

/** The media actions' durable jobs: queue steps, far-side key presses, and the renders of recorded responses. */
export function registerMediaJobs(jobs: JobRegistry, o: { media: MediaActionsService; responses: RecordResponseRenderer }): void {
  jobs.register('mediaStep', (job) => o.media.runStep(job));
  jobs.register('farSideTone', (job) => o.media.runFarSideTone(job));
  jobs.register('renderRecordResponse', (job) => o.responses.runJob(job));
}
