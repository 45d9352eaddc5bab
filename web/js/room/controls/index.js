// Every control of the room page, wired once (app.js calls wireControls). A new control topic is
// a new file here and one line below.

import { wireChat } from './chat.js';
import { wireRules, wireRulesEditor } from './rules.js';
import { wireHands } from './hands.js';
import { wireSupport } from './support.js';
import { wireLeave, wireSessionEnd } from './session.js';
import { wireEnergizerAnswer, wireEnergizerLibrary } from './energizer.js';
import { wireParking } from './parking.js';
import { wireSummary } from './summary.js';
import { wireShare, wireSettings, wireNotes } from './settings.js';
import { wireTimers } from './timers.js';
import { wireHighlights } from './highlights.js';
import { wireEnergy } from './energy.js';
import { wireAirtime } from './airtime.js';
import { wireShareHistory } from './history.js';
import { wireLead } from './lead.js';
import { wireWrapUp } from './wrapup.js';

export function wireControls(app) {
  // Everyone.
  wireChat(app);
  wireRules(app);
  wireHands(app);
  wireSupport(app);
  wireLeave(app);
  wireEnergizerAnswer(app);
  wireParking(app);
  wireSummary(app);
  // Facilitators.
  wireShare(app);
  wireSettings(app);
  wireShareHistory(app);
  wireLead(app);
  wireRulesEditor(app);
  wireNotes(app);
  wireTimers(app);
  wireEnergizerLibrary(app);
  wireHighlights(app);
  wireEnergy(app);
  wireAirtime(app);
  wireSessionEnd(app);
  wireWrapUp(app);
}
