import BerthAPI

/// The durable part of an `OfferBook`: dynamic reservations and task allocations. Offers and
/// decline filters are not kept: after a berthd restart schedulers ask for offers again.
public struct OfferBookCheckpoint: Codable, Sendable, Equatable {
    public var reservations: [Resource]
    public var allocations: [TaskAllocation]

    public init(reservations: [Resource] = [], allocations: [TaskAllocation] = []) {
        self.reservations = reservations
        self.allocations = allocations
    }
}

extension OfferBook {
    /// What to write to disk after each change (allocations sorted by task id).
    public var checkpoint: OfferBookCheckpoint {
        OfferBookCheckpoint(reservations: dynamicReservations.resources,
                            allocations: allocations.keys.sorted().map { allocations[$0]! })
    }

    /// Loads a checkpoint into a fresh book (call before making offers). Reservations that no
    /// longer fit the machine and allocations that over-commit it are kept as far as possible and
    /// reported as notes, never refused: recovery must find every task.
    @discardableResult
    public mutating func restore(_ checkpoint: OfferBookCheckpoint) -> [String] {
        var notes: [String] = []
        let reservations: ResourceSet
        do {
            reservations = try ResourceSet(checkpoint.reservations, at: "reservations")
        } catch {
            reservations = ResourceSet()
            notes.append("reservations not understood (\(error)); dropped")
        }
        let applied = Self.applying(reservations, to: base)
        notes += applied.notes
        dynamicReservations = applied.reservations
        total = applied.total
        for allocation in checkpoint.allocations {
            if let note = restore(allocation) { notes.append(note) }
        }
        return notes
    }

    struct AppliedReservations {
        var total: ResourceSet
        /// The reservations that fit (those that did not are left out).
        var reservations: ResourceSet
        var notes: [String]
    }

    /// `base` with each reserved resource moved from "*" to its role; one that `base` does not
    /// hold unreserved is left out with a note.
    static func applying(_ reservations: ResourceSet, to base: ResourceSet) -> AppliedReservations {
        var result = AppliedReservations(total: base, reservations: ResourceSet(), notes: [])
        for key in reservations.entries.keys.sorted() {
            let one = ResourceSet().adding(key, reservations.entries[key]!)
            do {
                try result.total.subtract(one.withRole("*"))
                result.total.add(one)
                result.reservations.add(one)
            } catch {
                result.notes.append("reservation of \(one) dropped: \(error.message("unreserved"))")
            }
        }
        return result
    }
}

extension ResourceSet {
    func adding(_ key: Key, _ value: Value) -> ResourceSet {
        var copy = self
        copy.add(key, value)
        return copy
    }
}
