// Server notices (degraded, recovered, shutting down, others) as banners and toasts.

import { setBanner, clearBanner, toast } from '../../ui.js';

export function showNotice(m) {
  switch (m.code) {
    case 'degraded':
      setBanner('degraded', m.message || 'The service is degraded; some things may be slow.', 'warn');
      break;
    case 'recovered':
      clearBanner('degraded');
      toast(m.message || 'The service has recovered.');
      break;
    case 'shutting_down':
      setBanner('shutting-down', m.message || 'The server is restarting. You will be reconnected automatically.', 'warn');
      break;
    default:
      toast(m.message || m.code);
  }
}
