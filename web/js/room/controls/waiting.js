// The waiting room (facilitators): admit or decline someone. Turning it on or off is a room
// setting (controls/settings.js).

export const admit = (app, memberId) => app.send({ type: 'admit', member_id: memberId });
export const decline = (app, memberId) => app.send({ type: 'decline', member_id: memberId });
