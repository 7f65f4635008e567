// The node agent: inventory, resources, offers, tasks, recovery.
