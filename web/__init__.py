"""The map: a Folium page whose layers are fetched from the API after login."""
