import Foundation
import Synchronization

/// Secrets the console shows once (a new API key, a webhook's signing secret), handed from the POST
/// that made them to the page it redirects to. A note is read once, by the same session, within a
/// minute, and never written anywhere: a reload or a shared link shows nothing.
final class OneTimeNotes: Sendable {
    private struct Note {
        let owner: String
        let text: String
        let expires: Date
    }

    private let notes = Mutex<[String: Note]>([:])
    private let clock: WallClock

    init(clock: WallClock) {
        self.clock = clock
    }

    /// Keeps `text` for the session `owner`; returns the note's id for the redirect.
    func put(_ text: String, owner: String) -> String {
        let id = SecretToken.identifier(prefix: "n")
        let now = clock.now()
        notes.withLock { notes in
            notes = notes.filter { $0.value.expires > now }
            notes[id] = Note(owner: owner, text: text, expires: now.addingTimeInterval(60))
        }
        return id
    }

    func take(_ id: String?, owner: String) -> String? {
        guard let id else { return nil }
        return notes.withLock { notes in
            guard let note = notes[id], note.owner == owner, note.expires > clock.now() else { return nil }
            notes.removeValue(forKey: id)
            return note.text
        }
    }
}
