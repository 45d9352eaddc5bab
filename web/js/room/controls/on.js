// Listen on a static element of index.html, found by its data-testid.

import { byTestId } from '../../dom.js';

export const on = (id, ev, fn) => byTestId(id).addEventListener(ev, fn);
