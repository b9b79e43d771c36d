"""物联感知: SensorThings-compatible devices and observations, rollups, AQI, water class, alarms."""
