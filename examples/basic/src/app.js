// Shows when the page was built.
document.getElementById("stamp").textContent = "built at " + window.BUILD_TIME;
