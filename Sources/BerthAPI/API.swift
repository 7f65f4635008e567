// Wire types and the socket client of berthd's API.
