require ["fileinto"];
# Global rule: file tagged spam into Junk
if header :contains "X-Spam-Flag" "YES" {
  fileinto "Junk";
  stop;
}
