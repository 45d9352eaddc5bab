// The summary as Markdown (REST, with the facilitator key in a header), saved as a file.

import { h } from '../../dom.js';
import { toast } from '../../ui.js';
import { on } from './on.js';

export async function downloadSummary(app) {
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(app.roomId)}/summary.md`, { headers: { 'X-Facilitator-Key': app.key || '' } });
    if (!r.ok) {
      let msg = 'The summary is not available.';
      try { msg = (await r.json()).message || msg; } catch { /* not JSON */ }
      toast(msg, { kind: 'error' });
      return;
    }
    const blob = await r.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `huddle-summary-${app.roomId}.md`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  } catch {
    toast('Could not download the summary. Please try again.', { kind: 'error' });
  }
}

export function wireSummary(app) {
  on('summary-download', 'click', () => downloadSummary(app));
}
