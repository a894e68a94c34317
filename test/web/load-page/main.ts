/** A bare page with the browser entry on `globalThis.biflow`, for test/web/load-url.test.ts. */
import * as biflow from '../../../src/browser.js';

(globalThis as Record<string, unknown>).biflow = biflow;

