// The camera page's player: hls.js where Media Source Extensions exist, the browser's own HLS otherwise.
(function () {
  "use strict";
  var video = document.getElementById("player");
  if (!video) return;
  var src = video.getAttribute("data-src");
  var status = document.getElementById("player-status");
  function say(text) {
    if (status) status.textContent = text;
  }
  if (window.Hls && window.Hls.isSupported()) {
    // No worker: the page's Content-Security-Policy allows scripts from the platform only.
    var hls = new window.Hls({ enableWorker: false });
    hls.on(window.Hls.Events.ERROR, function (_event, data) {
      if (data.fatal) {
        var code = data.response && data.response.code;
        say(code === 403 ? "授权已失效，视频已停止；请刷新页面查看原因。" : "视频加载失败，请稍后重试。");
        hls.destroy();
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = src;
  } else {
    say("当前浏览器不支持 HLS 播放。");
  }
})();
