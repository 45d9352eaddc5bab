//! Energizers: the library, pushing one (optionally timed), closing it, answers.

use crate::room::*;

impl Room {
    /// `list_energizers`: the library, to this connection only.
    pub(in crate::room) fn list_energizers(&mut self, conn: &str) -> R {
        self.reply(
            conn,
            ServerMsg::Energizers {
                energizers: library::energizers(),
            },
        );
        Ok(())
    }

    /// `push_energizer`: open one (from the library or custom), optionally timed; closes the open one.
    pub(in crate::room) fn push_energizer(
        &mut self,
        energizer_id: Option<String>,
        prompt: Option<String>,
        duration_secs: Option<u32>,
        now: Millis,
    ) -> R {
        let (eid, title, prompt) = match (energizer_id, prompt) {
            (Some(id), _) => {
                let Some(e) = library::energizer(&id) else {
                    return Err(RoomError::NoSuchEnergizer);
                };
                (Some(e.id), e.title, e.prompt)
            }
            (None, Some(p)) => (
                None,
                "Energizer".to_string(),
                clean_text(&p, 500, "prompt", Lines::Many)?,
            ),
            (None, None) => return Err(RoomError::EnergizerOrPrompt),
        };
        if let Some(d) = duration_secs {
            if d == 0 || d > 3600 {
                return Err(RoomError::EnergizerDuration);
            }
        }
        // Start the timer first: if it is refused, the open energizer stays as it was.
        let timer_id = match duration_secs {
            Some(d) => Some(self.start_timer(title.clone(), d, now)?),
            None => None,
        };
        if let Some(old) = self.energizer.take().filter(|r| r.open) {
            self.emit(
                Audience::All,
                Event::EnergizerClosed { run_id: old.id },
                now,
            );
        }
        let run = EnergizerRun {
            id: new_id(),
            energizer_id: eid,
            title: title.clone(),
            prompt,
            timer_id,
            open: true,
            answers: vec![],
        };
        self.energizers_used.push(title);
        self.energizer = Some(run.clone());
        self.emit(Audience::All, Event::EnergizerStarted { run }, now);
        Ok(())
    }

    /// `close_energizer`: no more answers.
    pub(in crate::room) fn close_energizer(&mut self, run_id: String, now: Millis) -> R {
        match self.energizer.as_mut().filter(|r| r.id == run_id && r.open) {
            Some(r) => r.open = false,
            None => return Err(RoomError::EnergizerNotOpen),
        }
        self.emit(Audience::All, Event::EnergizerClosed { run_id }, now);
        Ok(())
    }

    /// From [`Room::tick`]: a timer expired; if it is the open energizer's,
    /// the energizer closes (once: the timer's expiry happens once).
    pub(in crate::room) fn energizer_timer_expired(&mut self, timer_id: &str, now: Millis) {
        let Some(run) = self
            .energizer
            .as_mut()
            .filter(|r| r.open && r.timer_id.as_deref() == Some(timer_id))
        else {
            return;
        };
        run.open = false;
        let run_id = run.id.clone();
        self.emit(Audience::All, Event::EnergizerClosed { run_id }, now);
    }

    /// `answer_energizer`: one answer per member (a new one replaces it).
    pub(in crate::room) fn answer_energizer(
        &mut self,
        i: usize,
        run_id: String,
        text: String,
        now: Millis,
    ) -> R {
        let me = self.members[i].id.clone();
        self.can_post(i, now, false)?;
        let text = clean_text(&text, 280, "answer", Lines::One)?;
        let name = self.members[i].name.clone();
        let Some(run) = self.energizer.as_mut().filter(|r| r.id == run_id && r.open) else {
            return Err(RoomError::EnergizerNotOpen);
        };
        let answer = EnergizerAnswer {
            member_id: me.clone(),
            name,
            text,
        };
        run.answers.retain(|a| a.member_id != me);
        run.answers.push(answer.clone());
        self.emit(
            Audience::All,
            Event::EnergizerAnswer { run_id, answer },
            now,
        );
        Ok(())
    }
}
