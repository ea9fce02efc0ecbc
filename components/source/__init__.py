"""Where raw records come from: the Energi Data Service API client, snapshot files, and run windows."""
