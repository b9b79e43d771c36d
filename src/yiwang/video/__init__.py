"""视频融合: cameras (GB/T 28181 codes), sharing through the exchange, playback, detections."""
